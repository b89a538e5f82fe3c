// `npm run quickstart`: the whole loadlm loop on this machine. Starts the local control plane (building it first
// when it is not cached), installs the CRDs, runs the operator, a pod executor for the runner image and
// `loadlm sim` as a stand-in vLLM, applies examples/quickstart.yaml, waits for it and prints
// `kubectl get loadtests -o wide` and the summary. Then the cluster stays up until Ctrl-C, or with --down
// everything is torn down at once. `npm run quickstart -- --help` for the flags.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { LoadTest } from '../api/loadtest.ts';
import {
  defaultImages,
  ensureBinaries,
  type LocalCluster,
  type PodExecutor,
  startCluster,
} from '../test/cluster/index.ts';
import { installCrds } from '../test/support/crds.ts';
import { readQuickstart } from './quickstart/manifest.ts';
import { parseQuickstartArgs, type QuickstartOptions, UsageError, usage } from './quickstart/options.ts';
import { type ChildHandle, startOperatorProcess, startSimulatorProcess } from './quickstart/processes.ts';
import { conditionsText, progressLine, summaryText } from './quickstart/report.ts';

const repoRoot = join(import.meta.dirname, '..');
const exampleFile = 'examples/quickstart.yaml';
const namespace = 'default';
/** Startup margin on top of the run's planned length: runner pods start, connect and get a common start time. */
const startupMarginSeconds = 120;
const simulatorTiming = { ttftMs: 80, itlMs: 15 };

const started = Date.now();
const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`.padStart(5);
const say = (line = '') => process.stdout.write(`${line}\n`);

/** What is running, stopped in reverse order by teardown(). */
const running: { name: string; stop: () => Promise<void> }[] = [];
let tearingDown: Promise<void> | undefined;

function teardown(): Promise<void> {
  tearingDown ??= (async () => {
    for (const { name, stop } of running.reverse()) {
      try {
        await stop();
      } catch (error) {
        process.stderr.write(`quickstart: stopping ${name} failed: ${(error as Error).message}\n`);
      }
    }
  })();
  return tearingDown;
}

function onSignal(signal: NodeJS.Signals): void {
  process.stderr.write(`\nquickstart: ${signal}, stopping...\n`);
  void teardown().then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
}

async function main(options: QuickstartOptions): Promise<number> {
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  say('[1/4] Local Kubernetes control plane');
  const binaries = await withHeartbeat(
    ensureBinaries(),
    (seconds) =>
      `      still building the control plane and kubectl (${seconds} s; a cold build takes ~10 min on 2 cores, once)`,
  );
  say(`      binaries: ${binaries.binDir}`);
  const cluster = await startCluster();
  running.push({ name: 'the control plane', stop: () => cluster.stop() });
  say(`      Kubernetes ${cluster.version} at ${cluster.server} (${elapsed().trim()})`);
  await installCrds(cluster);
  say('      CRDs installed: loadtests.loadlm.dev, observabilitystacks.loadlm.dev');

  const quickstart = readQuickstart(readFileSync(join(repoRoot, exampleFile), 'utf8'), exampleFile);
  say('[2/4] Operator, pod executor and loadlm sim');
  const simulator = await startSimulatorProcess({
    logDir: cluster.dir,
    args: [
      '--ttft-ms',
      String(simulatorTiming.ttftMs),
      '--itl-ms',
      String(simulatorTiming.itlMs),
      ...quickstart.models.flatMap((model) => ['--model', model]),
    ],
  });
  running.push({ name: 'loadlm sim', stop: () => simulator.stop() });
  say(
    `      loadlm sim (stand-in vLLM: TTFT ${simulatorTiming.ttftMs} ms, ITL ${simulatorTiming.itlMs} ms) at ${simulator.url}`,
  );
  const executor: PodExecutor = await cluster.startPodExecutor({
    images: defaultImages(),
    nodeName: 'loadlm-quickstart',
  });
  running.push({ name: 'the pod executor', stop: () => executor.stop() });
  say(`      pod executor: node ${executor.nodeName} runs pods as local processes (pod IPs ${executor.podCIDR})`);
  const operator = await startOperatorProcess({
    kubeconfig: cluster.kubeconfigPath,
    logDir: cluster.dir,
    // Progress in status every 5 s; runner /metrics need not linger without a Prometheus to scrape them.
    args: ['--progress-interval=5s', '--runner-linger=1s'],
  });
  // Stop the operator first: it must not keep reconciling against a control plane that is going away.
  running.push({ name: 'the operator', stop: () => operator.stop() });
  say(`      operator: node operator/main.ts (pid ${operator.pid}), log ${operator.logPath}`);

  say(`[3/4] kubectl apply -f ${exampleFile}`);
  say(
    `      ${quickstart.urls.join(', ')} resolves only inside a real cluster; here the target URL points at ` +
      `the simulator, ${simulator.url}`,
  );
  const applied = await cluster.kubectl(['apply', '-f', '-'], {
    input: quickstart.pointedAt(simulator.url),
    namespace,
  });
  say(`      ${applied.stdout.trim()}`);
  const timeoutSeconds = options.timeoutSeconds ?? quickstart.plannedSeconds + startupMarginSeconds;
  const final = await waitForFinish(cluster, quickstart.name, timeoutSeconds);

  say('[4/4] kubectl get loadtests -o wide');
  say((await cluster.kubectl(['get', 'loadtests', '-o', 'wide'], { namespace })).stdout.trimEnd());
  say();
  if (final?.status?.phase !== 'Succeeded') {
    await explainFailure(cluster, quickstart.name, final, timeoutSeconds, operator);
    return 1;
  }
  say(
    `Summary of loadtest/${quickstart.name} (from its status; the full report is in ConfigMap ${final.status.reportRef?.name ?? '-'}):`,
  );
  say(summaryText(final));
  say();
  say(`Done in ${elapsed().trim()}.`);
  if (options.down) return 0;
  exploreHints(cluster, final, simulator, operator);
  await new Promise<void>(() => {
    // Runs until SIGINT/SIGTERM: onSignal tears down and exits.
  });
  return 0;
}

/** Polls the LoadTest, printing a line whenever its progress changes, until it finishes or the deadline passes. */
async function waitForFinish(
  cluster: LocalCluster,
  name: string,
  timeoutSeconds: number,
): Promise<LoadTest | undefined> {
  const api = cluster.kubeConfig().makeApiClient(CustomObjectsApi);
  const deadline = Date.now() + timeoutSeconds * 1000;
  say(`      waiting for it to finish (at most ${timeoutSeconds} s):`);
  let last = '';
  let latest: LoadTest | undefined;
  while (Date.now() < deadline) {
    try {
      latest = (await api.getNamespacedCustomObject({
        group: 'loadlm.dev',
        version: 'v1alpha1',
        namespace,
        plural: 'loadtests',
        name,
      })) as LoadTest;
    } catch (error) {
      process.stderr.write(`quickstart: reading loadtest/${name} failed (retrying): ${(error as Error).message}\n`);
    }
    if (latest) {
      const line = progressLine(latest);
      if (line !== last) say(`      [${elapsed()}] ${line}`);
      last = line;
      const phase = latest.status?.phase;
      if (phase === 'Succeeded' || phase === 'ThresholdsBreached' || phase === 'Failed') return latest;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return latest;
}

async function explainFailure(
  cluster: LocalCluster,
  name: string,
  final: LoadTest | undefined,
  timeoutSeconds: number,
  operator: ChildHandle,
): Promise<void> {
  const phase = final?.status?.phase;
  const what =
    phase === 'Failed' || phase === 'ThresholdsBreached'
      ? `ended ${phase}`
      : `did not finish within ${timeoutSeconds} s (phase ${phase ?? 'none'})`;
  process.stderr.write(`quickstart: loadtest/${name} ${what}. Its conditions:\n`);
  process.stderr.write(`${final ? conditionsText(final) : '  (the LoadTest could not be read)'}\n`);
  const events = await cluster.kubectl(
    ['get', 'events', '--field-selector', `involvedObject.name=${name}`, '--sort-by=.lastTimestamp'],
    { namespace, allowFailure: true },
  );
  if (events.stdout.trim()) process.stderr.write(`Events:\n${events.stdout.trimEnd()}\n`);
  const pods = await cluster.kubectl(['get', 'pods', '-o', 'wide'], { namespace, allowFailure: true });
  if (pods.stdout.trim()) process.stderr.write(`Pods:\n${pods.stdout.trimEnd()}\n`);
  process.stderr.write(`Last operator log lines (${operator.logPath}):\n${operator.tail(10)}\n`);
}

function exploreHints(cluster: LocalCluster, lt: LoadTest, simulator: { url: string }, operator: ChildHandle): void {
  const name = lt.metadata.name ?? 'quickstart';
  const report = lt.status?.reportRef;
  say();
  say('The cluster stays up for exploration. In another shell:');
  say(`  export KUBECONFIG=${cluster.kubeconfigPath}`);
  say(`  export PATH=${cluster.binDir}:$PATH   # kubectl ${cluster.version}, matching the server`);
  say('  kubectl get loadtests -o wide');
  say(`  kubectl describe loadtest ${name}`);
  if (report) say(`  kubectl get configmap ${report.name} -o jsonpath='{.data.${report.key.replaceAll('.', '\\.')}}'`);
  say(`  kubectl delete loadtest ${name} && sed 's#http://mistral-7b-predictor[^ ]*#${simulator.url}#' \\`);
  say(`      ${exampleFile} | kubectl apply -f -   # run it again`);
  say(`Logs: ${operator.logPath}, ${cluster.logPath}`);
  say('Ctrl-C to stop (the cluster and everything in it go away).');
}

/** Awaits `promise`, printing `message(seconds)` every 30 s while it is pending. */
async function withHeartbeat<T>(promise: Promise<T>, message: (seconds: number) => string): Promise<T> {
  const since = Date.now();
  const timer = setInterval(() => say(message(Math.round((Date.now() - since) / 1000))), 30_000);
  try {
    return await promise;
  } finally {
    clearInterval(timer);
  }
}

let options: QuickstartOptions;
try {
  options = parseQuickstartArgs(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`quickstart: ${error.message}\n\n${usage}\n`);
  process.exit(2);
}
if (options.help) {
  say(usage);
  process.exit(0);
}
let code = 1;
try {
  code = await main(options);
} catch (error) {
  process.stderr.write(`quickstart: ${(error as Error).message}\n`);
}
await teardown();
process.exit(code);
