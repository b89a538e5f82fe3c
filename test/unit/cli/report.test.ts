import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PlannedTarget, RunPlan } from '../../../runner/config/plan.ts';
import type { RequestResult } from '../../../runner/engine/types.ts';
import { decideOutcome } from '../../../runner/modes/execute.ts';
import type { TargetRunResult } from '../../../runner/modes/target-run.ts';
import {
  csvField,
  renderSummaryCsv,
  requestCsvHeader,
  requestCsvRow,
  summaryCsvHeader,
} from '../../../runner/report/csv.ts';
import { formatMs } from '../../../runner/report/format.ts';
import { ProgressReporter } from '../../../runner/report/progress.ts';
import { buildReport, evaluateTargets, serializeReport } from '../../../runner/report/report.ts';
import { evaluateSlo } from '../../../runner/report/slo.ts';
import { renderSummary } from '../../../runner/report/summary-table.ts';
import { RunStats, summarizeRun } from '../../../runner/stats/index.ts';

function result(i: number, over: Partial<RequestResult> = {}): RequestResult {
  return {
    index: i,
    stage: 0,
    step: 0,
    phase: 'measure',
    scheduledAt: 1_700_000_000_000 + i * 100,
    sentAt: 1_700_000_000_000 + i * 100 + 0.2,
    dispatchLagSeconds: 0.0002,
    late: false,
    ok: true,
    ttftSeconds: 0.1 + (i % 10) / 100, // 100..190 ms
    itlSeconds: [0.01, 0.01, 0.02],
    tpotSeconds: 0.0133,
    e2eSeconds: 0.2 + (i % 10) / 100,
    promptTokens: 100,
    outputTokens: 4,
    requestedOutputTokens: 4,
    ...over,
  };
}

const target: PlannedTarget = {
  name: 'mistral-7b',
  spec: {
    url: 'http://user:pw@vllm:8000/v1',
    model: 'mistralai/Mistral-7B-Instruct-v0.3',
    api: 'chat',
    stream: true,
    apiKey: 'sk-never-shown',
    timeouts: { connectMs: 1000, headersMs: 1000, bodyIdleMs: 1000 },
    maxConnections: 4,
  },
};

function plan(slo: RunPlan['slo'] = {}): RunPlan {
  return {
    labels: { environment: 'development', provider: 'akamai-lke' },
    targets: [target],
    load: { profile: 'constant', rate: 10, durationSeconds: 12, warmupSeconds: 1, cooldownSeconds: 1 },
    data: {
      promptTokens: { kind: 'fixed', value: 100 },
      outputTokens: { kind: 'fixed', value: 4 },
      sharedPrefixTokens: 0,
      seed: 1,
    },
    slo,
    effectiveConfig: { environment: 'development' },
  };
}

/** 100 successes + 2 HTTP 503s over a 10 s window, plus 5 warmup results. */
function stats(goodput = false): RunStats {
  const s = new RunStats(goodput ? { goodput: { ttftSeconds: 0.15 } } : {});
  for (let i = 0; i < 100; i++) s.addResult(result(i));
  for (let i = 0; i < 2; i++) {
    s.addResult(
      result(100 + i, { ok: false, errorClass: 'http', httpStatus: 503, itlSeconds: [], errorMessage: 'overloaded' }),
    );
  }
  for (let i = 0; i < 5; i++) s.addResult(result(200 + i, { phase: 'warmup' }));
  s.observeWindow(1_700_000_000_000, 1_700_000_010_000);
  return s;
}

function targetResult(s: RunStats, over: Partial<TargetRunResult> = {}): TargetRunResult {
  return {
    name: target.name,
    target,
    stats: s,
    steps: [{ step: 0, label: 'constant', profile: 'constant', targetRate: 10, stats: s }],
    errorSamples: { http: 'HTTP 503: overloaded' },
    outcome: {
      stopReason: 'duration',
      startedAt: 0,
      endedAt: 12_000,
      steps: [],
      counts: {
        sent: 107,
        completed: 107,
        ok: 105,
        failed: 2,
        late: 0,
        errors: { connect: 0, timeout: 0, http: 2, broken_stream: 0, bad_payload: 0, cancelled: 0 },
        byStatus: { '200': 105, '503': 2 },
      },
    },
    ...over,
  };
}

const notAborted = { signal: new AbortController().signal };

describe('SLO evaluation', () => {
  it('checks each threshold against the merged summary', () => {
    const summary = summarizeRun(stats(true));
    const out = evaluateSlo(
      { ttftP95Ms: 200, ttftP99Ms: 150, maxErrorRatePercent: 5, minRequestsPerSecond: 20, minGoodputPercent: 45 },
      summary,
    );
    const byName = Object.fromEntries(out.map((t) => [t.name, t]));
    assert.equal(byName.ttftP95Milliseconds?.met, true);
    assert.equal(byName.ttftP99Milliseconds?.met, false);
    assert.equal(byName.maxErrorRatePercent?.met, true);
    assert.ok(Math.abs((byName.maxErrorRatePercent?.observed ?? 0) - (2 / 102) * 100) < 1e-9);
    assert.equal(byName.minRequestsPerSecond?.met, false, '10 ok req/s < 20');
    assert.equal(byName.minGoodputPercent?.met, true, '50 of 102 requests (49%) have TTFT ≤ 150 ms');
  });

  it('counts an unmeasurable threshold as breached', () => {
    const [t] = evaluateSlo({ tpotP95Ms: 50 }, summarizeRun(new RunStats()));
    assert.equal(t?.met, false);
    assert.equal(t?.observedText, 'not measured');
  });
});

describe('outcome', () => {
  it('success, SLO breach and failure map to exit codes 0, 1 and 3', () => {
    const ok = decideOutcome(evaluateTargets(plan(), [targetResult(stats())]), notAborted);
    assert.deepEqual(ok, { status: 'success', exitCode: 0, messages: [] });
    const breached = decideOutcome(evaluateTargets(plan({ ttftP95Ms: 100 }), [targetResult(stats())]), notAborted);
    assert.equal(breached.exitCode, 1);
    assert.match(breached.messages[0] ?? '', /SLO ttftP95Milliseconds breached/);
    const failed = decideOutcome(
      evaluateTargets(plan(), [targetResult(new RunStats(), { error: 'load.rate: expected > 0' })]),
      notAborted,
    );
    assert.equal(failed.exitCode, 3);
    assert.match(failed.messages[0] ?? '', /could not start: load\.rate/);
  });

  it('an interrupted run exits 130/143 whatever the results', () => {
    const c = new AbortController();
    c.abort();
    const out = decideOutcome(evaluateTargets(plan(), [targetResult(stats())]), {
      signal: c.signal,
      signalName: () => 'SIGINT',
    });
    assert.equal(out.status, 'interrupted');
    assert.equal(out.exitCode, 130);
  });
});

describe('report and summary table', () => {
  const evaluated = evaluateTargets(plan({ ttftP95Ms: 500 }), [targetResult(stats(true))]);
  const report = buildReport({
    plan: plan({ ttftP95Ms: 500 }),
    targets: evaluated,
    startedAt: 1_700_000_000_000,
    endedAt: 1_700_000_012_000,
    status: 'success',
    exitCode: 0,
    messages: [],
  });

  it('is versioned and round-trips its histograms', () => {
    const parsed = JSON.parse(serializeReport(report));
    assert.equal(parsed.apiVersion, 'loadlm.dev/v1alpha1');
    assert.equal(parsed.kind, 'LoadTestReport');
    assert.equal(parsed.schemaVersion, 1);
    assert.equal(parsed.metadata.durationSeconds, 12);
    const back = RunStats.fromJSON(parsed.targets[0].stats);
    assert.equal(back.requests.ok, 100);
    assert.equal(back.histograms.ttft.quantile(0.95), stats(true).histograms.ttft.quantile(0.95));
    assert.equal(parsed.summary.requests.failed, 2);
    assert.equal(parsed.slo.met, true);
  });

  it('keeps secrets out and writes unmeasured values as null', () => {
    const text = serializeReport(report);
    assert.ok(!text.includes('sk-never-shown'));
    assert.ok(!text.includes('user:pw'));
    assert.match(text, /"url": "http:\/\/REDACTED@vllm:8000\/v1"/);
    assert.doesNotMatch(text, /NaN/);
  });

  it('renders the summary table with every statistic', () => {
    const text = renderSummary(report);
    assert.match(text, /^loadlm run SUCCESS \(exit 0\) · environment=development provider=akamai-lke · 12\.0s/);
    assert.match(text, / +n +mean +min +max +p50 +p90 +p95 +p99 +p99\.9/);
    for (const row of ['TTFT', 'ITL', 'TPOT', 'E2E latency', 'Dispatch lag'])
      assert.match(text, new RegExp(`^  ${row} +\\d`, 'm'));
    assert.match(text, /Requests +102 measured: 100 ok, 2 failed, 0 late .* excluded 5 warmup, 0 cooldown/);
    assert.match(text, /Throughput +10\.00 req\/s · 40\.0 output tok\/s · 1040\.0 total tok\/s/);
    assert.match(text, /Errors +2 \(1\.96%\): http 2 · HTTP 503×2/);
    assert.match(text, /Goodput +50 good requests \(49\.02%\) · 5\.00 req\/s/);
    assert.match(text, /ok {3}ttftP95Milliseconds: .*\(limit ≤ 500ms\)/);
    // TTFT p50 of 100..190 ms (10 each) is 140 ms within the histogram's 0.4 % error.
    const ttft = /^ {2}TTFT +100 +(\S+) +(\S+) +(\S+) +(\S+)/m.exec(text);
    assert.equal(ttft?.[2], '100ms');
    assert.equal(ttft?.[4], '140ms');
  });

  it('renders the CSV with one row per target', () => {
    const csv = renderSummaryCsv(report).trim().split('\n');
    assert.equal(csv.length, 2);
    assert.deepEqual(csv[0]?.split(','), summaryCsvHeader);
    const row = csv[1]?.split(',') ?? [];
    const col = (name: string) => row[summaryCsvHeader.indexOf(name)];
    assert.equal(col('target'), 'mistral-7b');
    assert.equal(col('ok'), '100');
    assert.equal(col('failed'), '2');
    assert.equal(col('requests_per_s'), '10');
    assert.equal(Math.round(Number(col('ttft_min_ms'))), 100);
  });
});

describe('CSV fields and per-request rows', () => {
  it('quotes only when needed', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField(Number.NaN), '');
    assert.equal(csvField(undefined), '');
    assert.equal(csvField(0.1 + 0.2), '0.3');
  });

  it('writes one row per request matching the header', () => {
    const row = requestCsvRow(
      't',
      result(3, { ok: false, errorClass: 'http', httpStatus: 500, errorMessage: 'bad, very' }),
    );
    const fields = row.trim().match(/("([^"]|"")*"|[^,]*)(,|$)/g) ?? [];
    assert.equal(fields.filter((f) => f !== '').length, requestCsvHeader.length);
    assert.match(row, /,http,500,/);
    assert.match(row, /"bad, very"\n$/);
  });
});

describe('progress', () => {
  it('sums targets into one plain line', () => {
    const out: string[] = [];
    const p = new ProgressReporter('lines', { write: (t) => out.push(t) }, plan().load, 1000);
    const base = { stage: 0, step: 0, phase: 'measure' as const, late: 0 };
    p.update('a', { ...base, elapsedSeconds: 5, sent: 50, completed: 48, ok: 47, failed: 1, inFlight: 2 });
    p.update('b', { ...base, elapsedSeconds: 4, sent: 40, completed: 40, ok: 40, failed: 0, inFlight: 0 });
    assert.equal(
      p.line(),
      'progress elapsed=5s/12s phase=measure sent=90 completed=88 ok=87 failed=1 in_flight=2 late=0 rps=17.6',
    );
  });

  it('formats latencies with sensible units', () => {
    assert.equal(formatMs(0.4234), '0.42ms');
    assert.equal(formatMs(12.34), '12.3ms');
    assert.equal(formatMs(512.4), '512ms');
    assert.equal(formatMs(1520), '1.52s');
    assert.equal(formatMs(125_000), '2m05s');
    assert.equal(formatMs(Number.NaN), '-');
  });
});
