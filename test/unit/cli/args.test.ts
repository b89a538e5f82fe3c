import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFlags, renderHelp } from '../../../runner/cli/args.ts';
import { UsageError } from '../../../runner/cli/errors.ts';
import { runCommand } from '../../../runner/cli/run-flags.ts';
import { parseStages, runOptionsFromFlags } from '../../../runner/cli/run-options.ts';
import { simCommand } from '../../../runner/cli/sim-command.ts';
import { parseDuration } from '../../../runner/cli/values.ts';
import { formatDistribution, parseDistribution } from '../../../runner/config/distribution.ts';
import * as sim from '../../../runner/sim/index.ts';

function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UsageError, `expected a UsageError, got ${String(err)}`);
    assert.equal(err.exitCode, 2);
    return err.message;
  }
  assert.fail('expected a UsageError');
}

const options = (argv: string[]) => runOptionsFromFlags(parseFlags(runCommand, argv));

describe('loadlm run --help', () => {
  const help = renderHelp(runCommand);

  /** The help entry of one flag: from its name to the next flag line or blank line, whitespace collapsed. */
  const entryOf = (name: string) => {
    const lines = help.split('\n');
    const start = lines.findIndex((l) => new RegExp(`^ {2}(-\\w, | {4})--${name}\\b`).test(l));
    assert.ok(start >= 0, `--${name} missing from help`);
    const rest = lines.slice(start + 1);
    const end = rest.findIndex((l) => l.trim() === '' || /^ {2}(-\w, | {4})--/.test(l));
    return [lines[start], ...rest.slice(0, end === -1 ? undefined : end)].join(' ').replace(/\s+/g, ' ');
  };

  it('documents every option, with its default where it has one', () => {
    for (const flag of runCommand.flags) {
      const entry = entryOf(flag.name);
      if (flag.defaultText !== undefined) {
        assert.ok(entry.includes(`(default: ${flag.defaultText})`), `--${flag.name} help lacks its default: ${entry}`);
      }
    }
  });

  it('shows the key defaults the brief names', () => {
    assert.match(entryOf('metrics-port'), /Port of \/metrics.*\(default: 9090\)/);
    assert.match(help, /Exit codes: 0 success; 1 an SLO was breached; 2 usage/);
  });

  it('sim help lists every simulator option with its default', () => {
    const spec = simCommand(sim);
    const simHelp = renderHelp(spec);
    for (const o of sim.describeSimOptions()) assert.match(simHelp, new RegExp(`${o.flag}\\b`));
    assert.match(simHelp.replace(/\s+/g, ' '), /--ttft-ms N Base time to first token.*\(default: 50\)/);
  });
});

describe('flag parsing', () => {
  it('rejects unknown flags with a suggestion', () => {
    assert.equal(
      usageError(() => parseFlags(runCommand, ['--rat', '5'])),
      "unknown option --rat (did you mean --rate?) for 'loadlm run'",
    );
    assert.equal(
      usageError(() => parseFlags(runCommand, ['--zzzzzzzz'])),
      "unknown option --zzzzzzzz for 'loadlm run'",
    );
  });

  it('rejects missing values, values on switches and stray arguments', () => {
    assert.equal(
      usageError(() => parseFlags(runCommand, ['--rate'])),
      '--rate: expected a value (REQ/S)',
    );
    assert.equal(
      usageError(() => parseFlags(runCommand, ['--quiet=yes'])),
      '--quiet: is a switch and takes no value',
    );
    assert.match(
      usageError(() => parseFlags(runCommand, ['extra'])),
      /unexpected argument 'extra'/,
    );
    assert.equal(
      usageError(() => parseFlags(runCommand, ['--rate='])),
      '--rate: expected a value, got an empty string',
    );
  });

  it('checks values and names the flag', () => {
    assert.equal(
      usageError(() => options(['--rate', 'fast'])),
      '--rate: expected a number > 0, got "fast"',
    );
    assert.equal(
      usageError(() => options(['--rate', '0'])),
      '--rate: expected a number > 0, got 0',
    );
    assert.equal(
      usageError(() => options(['--rate', '1.23456'])),
      '--rate: expected at most 3 decimal places, got 1.23456',
    );
    assert.equal(
      usageError(() => options(['--concurrency', '2.5'])),
      '--concurrency: expected an integer ≥ 1 and ≤ 100000, got "2.5"',
    );
    assert.equal(
      usageError(() => options(['--api', 'grpc'])),
      '--api: expected one of chat, completions, got "grpc"',
    );
    assert.equal(
      usageError(() => options(['--profile', 'burst'])),
      '--profile: expected one of synchronous, concurrent, constant, poisson, throughput, sweep, got "burst"',
    );
    assert.match(
      usageError(() => options(['--duration', '5 minutes'])),
      /^--duration: expected a duration such as 90, 90s, 5m/,
    );
    assert.equal(
      usageError(() => options(['--duration', '1.5s'])),
      '--duration: expected whole seconds (e.g. 90s or 2m), got 1.5s',
    );
    assert.equal(
      usageError(() => options(['--metrics-port', '70000'])),
      '--metrics-port: expected an integer ≥ 0 and ≤ 65535, got 70000',
    );
    assert.match(
      usageError(() => options(['--target-url', 'localhost:8000'])),
      /^--target-url: expected an http or https URL/,
    );
    assert.match(
      usageError(() => options(['--output-tokens', 'uniform:10'])),
      /^--output-tokens: expected N, fixed:N, uniform:MIN-MAX/,
    );
    assert.equal(
      usageError(() => options(['--shard', '3/3'])),
      '--shard: expected I/N with 0 ≤ I < N (e.g. 0/3), got "3/3"',
    );
    assert.equal(
      usageError(() => options(['--interval', '60'])),
      '--interval: only applies with --continuous',
    );
    assert.equal(
      usageError(() => options(['--header', 'Authorization: Bearer x'])),
      '--header: use --api-key-env or --api-key-file for the Authorization header',
    );
    assert.equal(
      usageError(() => options(['--log-level', 'loud'])),
      '--log-level: expected one of trace, debug, info, warn, error, fatal, silent, got "loud"',
    );
  });

  it('maps flags to CRD-named overrides and runtime options', () => {
    const o = options([
      '--target-url',
      'http://127.0.0.1:8000/v1',
      '--model',
      'm',
      '--rate',
      '2.5',
      '--duration',
      '2m',
      '--warmup',
      '10s',
      '--output-tokens',
      'uniform:64-256',
      '--slo-ttft-p95-ms',
      '500',
      '--goodput-ttft-ms',
      '800',
      '--slo-min-goodput',
      '95',
      '--metrics-port',
      '0',
      '--metrics-host',
      '127.0.0.1',
      '--linger',
      '30s',
      '--continuous',
      '--interval',
      '5m',
      '--header',
      'X-Route: blue',
      '--environment',
      'development',
    ]);
    assert.deepEqual(o.overrides.load, { rate: '2.5', durationSeconds: 120, warmupSeconds: 10 });
    assert.deepEqual(o.overrides.data, { outputTokens: 'uniform:64-256' });
    assert.deepEqual(o.overrides.slo, {
      ttftP95Milliseconds: 500,
      goodput: { ttftMilliseconds: 800 },
      minGoodputPercent: 95,
    });
    assert.deepEqual(o.overrides.target, {
      url: 'http://127.0.0.1:8000/v1',
      model: 'm',
      headers: { 'X-Route': 'blue' },
    });
    assert.equal(o.overrides.environment, 'development');
    assert.deepEqual(o.metrics, { enabled: true, host: '127.0.0.1', port: 0, lingerSeconds: 30 });
    assert.deepEqual(o.mode, { continuous: true, intervalSeconds: 300, gracePeriodSeconds: 30 });
    assert.equal(o.overrides.sources?.['load.rate'], '--rate');
  });

  it('has the documented defaults', () => {
    const o = options([]);
    assert.deepEqual(o.metrics, { enabled: true, host: '0.0.0.0', port: 9090, lingerSeconds: 0 });
    assert.equal(o.output.progress, 'auto');
    assert.equal(o.logLevel, 'info');
    assert.deepEqual(o.mode, { continuous: false, intervalSeconds: 300, gracePeriodSeconds: 30 });
  });
});

describe('value syntax', () => {
  it('parses durations', () => {
    assert.equal(parseDuration('90'), 90);
    assert.equal(parseDuration('90s'), 90);
    assert.equal(parseDuration('1.5m'), 90);
    assert.equal(parseDuration('2h'), 7200);
    assert.equal(parseDuration('500ms'), 0.5);
    assert.throws(() => parseDuration('-1s'));
    assert.throws(() => parseDuration('1d'));
  });

  it('parses token distributions', () => {
    assert.deepEqual(parseDistribution('128'), { kind: 'fixed', value: 128 });
    assert.deepEqual(parseDistribution('fixed:64'), { kind: 'fixed', value: 64 });
    assert.deepEqual(parseDistribution('uniform:64-256'), { kind: 'uniform', min: 64, max: 256 });
    assert.deepEqual(parseDistribution('normal:128,32,16-512'), {
      kind: 'normal',
      mean: 128,
      stddev: 32,
      min: 16,
      max: 512,
    });
    assert.deepEqual(parseDistribution('normal:128,32'), { kind: 'normal', mean: 128, stddev: 32, min: 1, max: 224 });
    for (const bad of [
      '0',
      'uniform:10',
      'uniform:20-10',
      'normal:128',
      'normal:1.5,2',
      'poisson:3',
      'uniform:1-2-3',
      '',
    ]) {
      assert.throws(() => parseDistribution(bad), `${bad} should be rejected`);
    }
    assert.equal(formatDistribution(parseDistribution('normal:128,32,16-512')), 'normal:128,32,16-512');
  });

  it('parses stages', () => {
    assert.deepEqual(parseStages('30s:5,1m:20:ramp'), [
      { durationSeconds: 30, value: 5, ramp: false },
      { durationSeconds: 60, value: 20, ramp: true },
    ]);
    assert.match(
      usageError(() => parseStages('30s')),
      /^--stages: stage 1 \("30s"\): expected DURATION:VALUE/,
    );
    assert.match(
      usageError(() => parseStages('30s:5:hold')),
      /expected DURATION:VALUE or DURATION:VALUE:ramp/,
    );
  });
});
