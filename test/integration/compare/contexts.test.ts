/**
 * `loadlm compare` reading LoadTests through kube contexts on the real test control plane: a kubeconfig with
 * two contexts (one namespace each, standing in for two providers), finished LoadTests whose status and report
 * ConfigMap are written as the operator writes them (its own buildReport / renderReportConfigMap / summarize),
 * then the comparison through the contexts, the status fallback and the errors.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { parseLoadTest } from '../../../api/index.ts';
import { buildReport, renderReportConfigMap } from '../../../operator/loadtest/status/report.ts';
import type { MergedResults } from '../../../operator/loadtest/status/results.ts';
import { summarize } from '../../../operator/loadtest/status/summary.ts';
import type { RunStats } from '../../../runner/stats/index.ts';
import { fromEnv } from '../../cluster/index.ts';
import { installCrds } from '../../support/crds.ts';
import { statsFor } from '../../unit/compare/fixtures.ts';
import { runLoadlm } from '../cli/process.ts';

const cluster = fromEnv();
const target = 'mistral-7b';

function loadTestManifest(name: string, environment: Record<string, string>) {
  return {
    apiVersion: 'loadlm.dev/v1alpha1',
    kind: 'LoadTest',
    metadata: { name },
    spec: {
      environment,
      targets: [{ name: target, url: 'http://vllm.example.svc:8000/v1', model: 'mistralai/Mistral-7B-Instruct-v0.3' }],
      load: { profile: 'constant', rate: '5', durationSeconds: 60 },
      data: { promptTokens: { type: 'fixed', value: 128 }, outputTokens: { type: 'fixed', value: 64 } },
    },
  };
}

async function createLoadTest(namespace: string, name: string, environment: Record<string, string>) {
  await cluster.kubectl(['create', '-f', '-'], {
    namespace,
    input: JSON.stringify(loadTestManifest(name, environment)),
  });
  const stored = await cluster.kubectl(['get', 'loadtest', name, '-o', 'json'], { namespace });
  return parseLoadTest(JSON.parse(stored.stdout));
}

async function patchStatus(namespace: string, name: string, status: Record<string, unknown>) {
  await cluster.kubectl(
    ['patch', 'loadtest', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })],
    { namespace },
  );
}

/** A finished LoadTest as the operator leaves it: the report ConfigMap, then status with summary and reportRef. */
async function finishedLoadTest(
  namespace: string,
  name: string,
  environment: Record<string, string>,
  stats: RunStats,
  options: { withReport: boolean } = { withReport: true },
) {
  const lt = await createLoadTest(namespace, name, environment);
  const results: MergedResults = {
    merged: stats,
    byTarget: new Map([[target, stats]]),
    runners: [],
    problems: [],
    ready: new Set([0]),
    finalIndexes: new Set([0]),
    allFinal: true,
  };
  const status: Record<string, unknown> = { phase: 'Succeeded', summary: summarize(stats) };
  if (options.withReport) {
    const report = buildReport(lt, { results, thresholds: [], outcome: { reason: 'Succeeded', message: 'done' } });
    const { configMap, reportRef } = renderReportConfigMap(lt, report);
    await cluster.kubectl(['apply', '-f', '-'], { namespace, input: JSON.stringify(configMap) });
    status.reportRef = reportRef;
  }
  await patchStatus(namespace, name, status);
}

describe('loadlm compare across kube contexts', () => {
  let dir: string;
  let kubeconfig: string;
  let nsAws: string;
  let nsGcp: string;
  const fastStats = statsFor({ ttftMs: 40, itlMs: 8, outputTokens: 64, requests: 300, windowSeconds: 60 });
  const slowStats = statsFor({ ttftMs: 120, itlMs: 12, outputTokens: 64, requests: 240, windowSeconds: 60, failed: 6 });

  before(async () => {
    await installCrds(cluster);
    nsAws = await cluster.createNamespace('compare-aws');
    nsGcp = await cluster.createNamespace('compare-gcp');
    dir = await mkdtemp(join(tmpdir(), 'loadlm-compare-kube-'));
    // Two contexts on the one test cluster, each defaulting to its own namespace: two "providers".
    const base = parse(await readFile(cluster.kubeconfigPath, 'utf8'));
    const clusterName = base.clusters[0].name;
    const userName = base.users[0].name;
    const caFile = base.clusters[0].cluster['certificate-authority'];
    if (caFile && !caFile.startsWith('/')) {
      base.clusters[0].cluster['certificate-authority'] = join(cluster.kubeconfigPath, '..', caFile);
    }
    const config = {
      ...base,
      contexts: [
        { name: 'prod-aws', context: { cluster: clusterName, user: userName, namespace: nsAws } },
        { name: 'prod-gcp', context: { cluster: clusterName, user: userName, namespace: nsGcp } },
      ],
      'current-context': 'prod-aws',
    };
    kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, stringify(config));

    await finishedLoadTest(
      nsAws,
      'nightly',
      { name: 'production', provider: 'aws-eks', region: 'us-east-1' },
      fastStats,
    );
    await finishedLoadTest(
      nsGcp,
      'nightly',
      { name: 'production', provider: 'gcp-gke', region: 'us-central1' },
      slowStats,
    );
    await finishedLoadTest(nsGcp, 'summary-only', { provider: 'gcp-gke' }, slowStats, { withReport: false });
    await createLoadTest(nsAws, 'still-running', { provider: 'aws-eks' });
    await patchStatus(nsAws, 'still-running', { phase: 'Running' });
  });

  after(async () => {
    await cluster.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const compare = (args: string[]) => runLoadlm(['compare', '--kubeconfig', kubeconfig, ...args], {}, 30_000);

  it('compares one LoadTest per context, labelled by its environment, the faster one best', async () => {
    const result = await compare(['--context', 'prod-aws', '--context', 'prod-gcp', '--loadtest', 'nightly']);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.split('\n');
    assert.match(lines[0] ?? '', /^\s+aws-eks\/us-east-1\/production\s+gcp-gke\/us-central1\/production$/);
    assert.match(result.stdout, /^source\s+prod-aws\s+prod-gcp$/m);
    assert.match(result.stdout, /^loadtest\s+nightly\s+nightly$/m);
    for (const p of ['p50', 'p95', 'p99'])
      assert.match(result.stdout, new RegExp(`^TTFT ${p}\\s+\\S+ \\*\\s+\\S+$`, 'm'));
    assert.match(result.stdout, /^errors\s+0 \(0\.00%\) \*\s+6 \(2\.44%\)$/m);
    assert.match(result.stdout, /^requests\s+300\s+246$/m);
  });

  it('reads the report ConfigMap: figures equal the merged stats the operator stored', async () => {
    const result = await compare([
      '--context',
      'prod-gcp',
      '--context',
      'prod-aws',
      '--loadtest',
      'nightly',
      '-f',
      'json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout);
    assert.deepEqual(
      doc.inputs.map((i: { kind: string; source: string }) => [i.kind, i.source]),
      [
        ['operator-report', `context prod-gcp: LoadTest ${nsGcp}/nightly`],
        ['operator-report', `context prod-aws: LoadTest ${nsAws}/nightly`],
      ],
    );
    const ttft = doc.rows.find((r: { id: string }) => r.id === 'ttft.p95');
    assert.deepEqual(ttft.values, [slowStats.histograms.ttft.quantile(0.95), fastStats.histograms.ttft.quantile(0.95)]);
    assert.deepEqual(ttft.best, ['aws-eks/us-east-1/production']);
  });

  it('mixes a report file with a context, with --label and --namespace', async () => {
    const file = join(dir, 'gcp-report.yaml');
    const cm = await cluster.kubectl(['get', 'cm', 'nightly-report', '-o', 'yaml'], { namespace: nsGcp });
    await writeFile(file, cm.stdout);
    const result = await compare([
      file,
      ...['--context', 'prod-gcp', '--loadtest', 'nightly', '--namespace', nsAws],
      ...['--label', 'name=GCP (file)', '--label', 'provider=aws-eks-2,region=us-east-1', '-f', 'json'],
    ]);
    assert.equal(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout);
    assert.deepEqual(
      doc.inputs.map((i: { name: string; source: string }) => [i.name, i.source]),
      [
        ['GCP (file)', file],
        ['aws-eks-2/us-east-1/production', `context prod-gcp: LoadTest ${nsAws}/nightly`],
      ],
    );
  });

  it('falls back to status.summary when a LoadTest has no report, and says so', async () => {
    const result = await compare(['--context', 'prod-gcp', '--loadtest', 'summary-only']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /warning: gcp-gke: figures from status\.summary \(status\.reportRef is not set\)/);
    assert.match(result.stdout, /^requests\s+246$/m);
  });

  it('fails clearly: unknown context, missing LoadTest, unfinished LoadTest, missing kubeconfig', async () => {
    const unknown = await compare(['--context', 'prod-azure', '--loadtest', 'nightly']);
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /--context prod-azure: no such context in .*kubeconfig \(it has prod-aws, prod-gcp\)/);

    const missing = await compare(['--context', 'prod-aws', '--loadtest', 'weekly']);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, new RegExp(`context prod-aws: LoadTest ${nsAws}/weekly: not found`));

    const running = await compare(['--context', 'prod-aws', '--loadtest', 'still-running']);
    assert.equal(running.code, 3, running.stderr);
    assert.match(running.stderr, /LoadTest \S+\/still-running is not finished \(phase Running\)/);
    assert.match(running.stderr, /kubectl get loadtest still-running -n \S+ -w/);

    const noFile = await runLoadlm(['compare', '--kubeconfig', join(dir, 'nope'), '--loadtest', 'x']);
    assert.equal(noFile.code, 2);
    assert.match(noFile.stderr, /--kubeconfig \S+nope: file not found/);
  });

  it('says when the API server cannot be reached (exit 3)', async () => {
    const config = parse(await readFile(kubeconfig, 'utf8'));
    config.clusters[0].cluster.server = 'https://127.0.0.1:1';
    const unreachable = join(dir, 'unreachable');
    await writeFile(unreachable, stringify(config));
    const result = await runLoadlm([
      'compare',
      '--kubeconfig',
      unreachable,
      '--context',
      'prod-aws',
      '--loadtest',
      'nightly',
    ]);
    assert.equal(result.code, 3, result.stderr);
    assert.match(
      result.stderr,
      /context prod-aws: LoadTest \S+\/nightly: cannot reach the API server at https:\/\/127\.0\.0\.1:1/,
    );
  });
});
