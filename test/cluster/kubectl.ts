/** Runs the kubectl built with the control plane against a given kubeconfig. */
import { spawn } from 'node:child_process';

export interface KubectlOptions {
  input?: string;
  namespace?: string;
  /** Resolve with the exit code instead of rejecting when kubectl fails. */
  allowFailure?: boolean;
  /** Default 60 s. */
  timeoutMs?: number;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class KubectlError extends Error {
  override name = 'KubectlError';
  readonly args: string[];
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;

  constructor(args: string[], code: number, stdout: string, stderr: string) {
    super(`kubectl ${args.join(' ')} exited with ${code}: ${stderr.trim() || stdout.trim()}`);
    this.args = args;
    this.code = code;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

export function runKubectl(
  kubectlPath: string,
  kubeconfigPath: string,
  args: string[],
  options: KubectlOptions = {},
): Promise<KubectlResult> {
  const fullArgs = [...(options.namespace ? ['--namespace', options.namespace] : []), ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(kubectlPath, fullArgs, {
      env: { ...process.env, KUBECONFIG: kubeconfigPath },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 60_000,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const exitCode = code ?? (signal ? 128 : 1);
      if (signal) stderr += `\nkubectl killed by ${signal} (timeout ${options.timeoutMs ?? 60_000}ms?)`;
      if (exitCode !== 0 && !options.allowFailure) reject(new KubectlError(fullArgs, exitCode, stdout, stderr));
      else resolve({ code: exitCode, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}
