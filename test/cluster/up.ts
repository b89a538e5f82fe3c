/**
 * `npm run cluster:up [-- --executor] [-- --namespace NS ...]`: starts the local control plane for manual use,
 * prints how to point kubectl at it, and keeps it up until Ctrl-C. With --executor, a pod executor runs the pods
 * (loadlm's runner image, `node`, and busybox-style shell commands) as local processes.
 */
import { parseArgs } from 'node:util';
import { startCluster } from './controlplane.ts';
import { defaultImages } from './images.ts';
import type { PodExecutor } from './pod-executor.ts';

const usage = `usage: npm run cluster:up [-- [--executor] [--namespace NS]... [--dir DIR]]
  --executor         also run a pod executor (node loadlm-local), so pods actually run
  --namespace NS     with --executor: serve only these namespaces (default: all)
  --dir DIR          keep kubeconfig and logs in DIR (default: a temp dir removed on exit)`;

async function main(): Promise<void> {
  let values: { executor?: boolean; namespace?: string[]; dir?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        executor: { type: 'boolean' },
        namespace: { type: 'string', multiple: true },
        dir: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    process.stderr.write(`cluster:up: ${(error as Error).message}\n${usage}\n`);
    process.exitCode = 2;
    return;
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  if (values.namespace && !values.executor) {
    process.stderr.write(`cluster:up: --namespace only applies with --executor\n${usage}\n`);
    process.exitCode = 2;
    return;
  }

  process.stderr.write('starting the local control plane (the first run builds it: several minutes)...\n');
  const started = Date.now();
  const cluster = await startCluster(values.dir === undefined ? {} : { dir: values.dir });
  let executor: PodExecutor | undefined;
  if (values.executor) {
    executor = await cluster.startPodExecutor({
      images: defaultImages(),
      ...(values.namespace ? { namespaces: values.namespace } : {}),
    });
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const lines = [
    `Local Kubernetes ${cluster.version} control plane is up at ${cluster.server} (ready in ${seconds}s).`,
    '',
    'Point kubectl at it (the kubectl built with it matches the server version):',
    `  export KUBECONFIG=${cluster.kubeconfigPath}`,
    `  export PATH=${cluster.binDir}:$PATH`,
    '  kubectl get namespaces',
    '',
    "Run loadlm's integration tests against it instead of a fresh one:",
    ...Object.entries(cluster.env()).map(([name, value]) => `  export ${name}=${value}`),
    '',
    executor
      ? `Pod executor: node ${executor.nodeName} runs pods of ${values.namespace?.join(', ') ?? 'all namespaces'} ` +
        `as local processes (pod IPs ${executor.podCIDR}; images: ${Object.keys(defaultImages()).join(', ')}, busybox).`
      : 'No pod executor: pods stay Pending (start with --executor to run them as local processes).',
    `Control plane logs: ${cluster.logPath}`,
    '',
    'Press Ctrl-C to stop.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stderr.write('\nstopping...\n');
  await executor?.stop();
  await cluster.stop();
}

main().catch((error: unknown) => {
  process.stderr.write(`cluster:up: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
