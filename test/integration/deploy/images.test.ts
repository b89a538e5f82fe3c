/**
 * The images without a Docker engine: each Dockerfile's build is replayed in a temporary directory
 * (support/image-build.ts: the build context through .dockerignore, `npm ci` from the local npm cache), then the
 * ENTRYPOINT runs as the image's user (65532) from the image tree: the operator serves /readyz against the test
 * cluster, the runner prints its help and load-tests `loadlm sim` from the same image. Nothing may be written
 * into the image tree while they run (read-only root filesystem), and the tree holds production dependencies
 * only, no tests.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, chown, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fromEnv, repoRoot, waitFor } from '../../cluster/index.ts';
import { installCrds } from '../../support/crds.ts';
import { type ReproducedImage, reproduceImage, snapshot, writeForUser } from './support/image-build.ts';

const imageUser = 65532;
const asImageUser = process.getuid?.() === 0;
let workDir = '';

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'loadlm-images-'));
  // The image user must be able to enter it (mkdtemp makes it 0700).
  await chmod(workDir, 0o755);
});
after(() => rm(workDir, { recursive: true, force: true }));

async function build(dockerfile: string): Promise<ReproducedImage> {
  const into = await mkdtemp(join(workDir, `${dockerfile.toLowerCase().replace(/\W+/g, '-')}-`));
  await chmod(into, 0o755);
  const image = await reproduceImage({
    dockerfile: join(repoRoot, dockerfile),
    context: repoRoot,
    into,
    nodeBinary: process.execPath,
    // No registry in tests: npm ci from the local cache (the one `npm install` filled).
    buildEnv: {
      npm_config_cache: process.env.npm_config_cache ?? join(homedir(), '.npm'),
      npm_config_prefer_offline: 'true',
      npm_config_update_notifier: 'false',
    },
  });
  if (asImageUser) await chown(image.scratch, imageUser, imageUser);
  return image;
}

/** Runs the image's ENTRYPOINT (+ CMD unless args are given) as its user, in its WORKDIR. */
function runImage(image: ReproducedImage, args: string[] | undefined, env: Record<string, string> = {}): ChildProcess {
  const argv = [...image.config.entrypoint, ...(args ?? image.config.cmd)];
  const [command, ...rest] = argv;
  assert.ok(command, 'the image has an ENTRYPOINT');
  return spawn(command, rest, {
    cwd: image.hostPath(image.config.workdir),
    env: image.processEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(asImageUser ? { uid: imageUser, gid: imageUser } : {}),
  });
}

async function finish(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

async function assertProductionTree(image: ReproducedImage): Promise<void> {
  const app = image.hostPath('/app');
  const packageJson = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  const lock = JSON.parse(await readFile(join(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const wanted = Object.entries(lock.packages)
    .filter(([path, entry]) => path.startsWith('node_modules/') && !entry.dev)
    .map(([path]) => path)
    .sort();
  const installed: string[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const entry of await readdir(join(app, dir), { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      if (entry.name.startsWith('@')) {
        await walk(`${dir}/${entry.name}`, `${prefix}${entry.name}/`);
        continue;
      }
      installed.push(`${dir}/${entry.name}`);
      const nested = join(app, dir, entry.name, 'node_modules');
      if (await readdir(nested).catch(() => undefined)) await walk(`${dir}/${entry.name}/node_modules`, '');
    }
  };
  await walk('node_modules', '');
  assert.deepEqual(installed.sort(), wanted, 'node_modules holds exactly the lock file production packages');
  // @types/node is also a runtime dependency of @kubernetes/client-node; the dev-only ones must be absent.
  const devOnly = Object.keys(packageJson.devDependencies).filter((name) => lock.packages[`node_modules/${name}`]?.dev);
  assert.ok(devOnly.includes('typescript') && devOnly.includes('node'), 'the lock marks typescript and node dev-only');
  for (const name of devOnly) {
    assert.ok(!installed.includes(`node_modules/${name}`), `devDependency ${name} is not installed`);
  }
  const files = [...(await snapshot(app)).keys()].filter((path) => !path.startsWith('node_modules'));
  const unwanted = files.filter(
    (path) => /^(test|bench|scripts|docs|examples|deploy|crds)(\/|$)/.test(path) || /\.test\.ts$|\.md$/.test(path),
  );
  assert.deepEqual(unwanted, [], 'no tests, benchmarks, scripts or docs in the image');
}

describe('Dockerfile.operator', () => {
  const cluster = fromEnv();
  let image: ReproducedImage;
  let namespace = '';

  before(async () => {
    image = await build('Dockerfile.operator');
    await installCrds(cluster);
    namespace = await cluster.createNamespace('image-operator');
  });
  after(() => cluster.stop());

  it('has the image metadata deploy/ relies on', () => {
    assert.deepEqual(image.config.entrypoint, ['loadlm-operator']);
    assert.equal(image.config.user, `${imageUser}:${imageUser}`);
    assert.equal(image.config.env.get('HOME'), '/tmp');
    assert.match(image.config.base, /^node:24\.\d+\.\d+-bookworm-slim@sha256:[0-9a-f]{64}$/);
    for (const key of ['title', 'source', 'licenses', 'version', 'revision', 'description']) {
      assert.ok(image.config.labels.get(`org.opencontainers.image.${key}`), `OCI label ${key}`);
    }
  });

  it('holds production dependencies only and no tests', () => assertProductionTree(image));

  it('starts as user 65532 against the cluster: /readyz answers, SIGTERM exits 0, nothing written to the image', async () => {
    await writeForUser(
      image.hostPath('/tmp/kubeconfig'),
      await readFile(cluster.kubeconfigPath),
      asImageUser ? imageUser : (process.getuid?.() ?? 0),
      asImageUser ? imageUser : (process.getgid?.() ?? 0),
    );
    const before = await snapshot(image.root);
    const child = runImage(image, undefined, {
      KUBECONFIG: image.hostPath('/tmp/kubeconfig'),
      LOADLM_HTTP_HOST: '127.0.0.1',
      LOADLM_HTTP_PORT: '0',
      LOADLM_NAMESPACES: namespace,
      LOADLM_LEADER_ELECTION_NAMESPACE: namespace,
      LOADLM_LOG_LEVEL: 'info',
    });
    const exited = finish(child);
    let port = 0;
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const match = /"address":"127\.0\.0\.1:(\d+)"/.exec(line);
      if (match) port = Number(match[1]);
    });
    try {
      await waitFor('the operator HTTP address in its log', () => port || undefined, { timeoutMs: 30_000 });
      await waitFor(
        '/readyz 200',
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200,
        { timeoutMs: 30_000 },
      );
      child.kill('SIGTERM');
      const { code, stderr } = await exited;
      assert.equal(code, 0, stderr);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    assert.deepEqual(await snapshot(image.root), before, 'the image tree is unchanged (read-only root works)');
  });
});

describe('Dockerfile.runner', () => {
  let image: ReproducedImage;

  before(async () => {
    image = await build('Dockerfile.runner');
  });

  it('has the image metadata the runner Job relies on', () => {
    assert.deepEqual(image.config.entrypoint, ['loadlm']);
    assert.deepEqual(image.config.cmd, ['--help']);
    assert.equal(image.config.user, `${imageUser}:${imageUser}`);
    assert.ok(image.config.labels.get('org.opencontainers.image.title'));
  });

  it('holds production dependencies only and no tests', () => assertProductionTree(image));

  it('prints its help by default, and load-tests `loadlm sim` from the same image without writing to it', async () => {
    const before = await snapshot(image.root);
    const help = await finish(runImage(image, undefined));
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Usage: loadlm <command>/);

    const sim = runImage(image, ['sim', '--port', '0', '--ttft-ms', '5', '--itl-ms', '1']);
    const simExited = finish(sim);
    let url = '';
    createInterface({ input: sim.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const match = /^READY (http:\/\/\S+)/.exec(line);
      if (match?.[1]) url = match[1];
    });
    try {
      await waitFor('loadlm sim READY', () => url || undefined, { timeoutMs: 30_000 });
      const run = await finish(
        runImage(image, [
          'run',
          `--target-url=${url}`,
          '--model=mistralai/Mistral-7B-Instruct-v0.3',
          '--rate=5',
          '--duration=2s',
          '--metrics-port=0',
          '--linger=0s',
        ]),
      );
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /TTFT/);
    } finally {
      sim.kill('SIGTERM');
      await simExited;
    }
    assert.deepEqual(await snapshot(image.root), before, 'the image tree is unchanged (read-only root works)');
  });
});
