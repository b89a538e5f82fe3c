import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { handoffRunnerFlags } from '../../../operator/loadtest/desired/runner-job.ts';
import { parseFlags, renderHelp } from '../../../runner/cli/args.ts';
import { UsageError } from '../../../runner/cli/errors.ts';
import { resolvePlanForRun, terminationMessagePath, wantsHandoff } from '../../../runner/cli/handoff-run.ts';
import { runCommand } from '../../../runner/cli/run-flags.ts';
import { runOptionsFromFlags } from '../../../runner/cli/run-options.ts';

const options = (argv: string[]) => runOptionsFromFlags(parseFlags(runCommand, argv));

function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UsageError, `expected a UsageError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected a UsageError');
}

const twoTargets = `
environments:
  lab:
    targets:
      - name: small
        url: http://127.0.0.1:8001/v1
        model: small-model
      - name: large
        url: http://127.0.0.1:8002/v1
        model: large-model
load:
  profile: constant
  rate: 4
  durationSeconds: 10
`;

describe('loadlm run hand-off flags', () => {
  it('knows every flag the operator renders into the runner Job', () => {
    const names = new Set(runCommand.flags.map((f) => f.name));
    for (const flag of handoffRunnerFlags) assert.ok(names.has(flag), `--${flag} missing from loadlm run`);
  });

  it('documents them in --help, with the start timeout default', () => {
    const help = renderHelp(runCommand).replace(/\s+/g, ' ');
    for (const flag of handoffRunnerFlags) assert.match(help, new RegExp(`--${flag} `));
    assert.match(help, /--start-timeout DURATION .*\(default: 300s\)/);
    assert.match(help, /--start-signal NAME .*\(default: start at once\)/);
  });

  it('parses the flags as the Job passes them', () => {
    const o = options([
      '--config-env=LOADLM_CONFIG',
      '--job-index=3',
      '--runners-per-target=2',
      '--result-configmap=demo-result-3',
      '--start-signal=demo-start',
      '--start-timeout=120s',
    ]);
    assert.equal(o.configEnv, 'LOADLM_CONFIG');
    assert.deepEqual(o.handoff, {
      resultConfigMap: 'demo-result-3',
      startSignal: 'demo-start',
      startTimeoutSeconds: 120,
    });
    assert.deepEqual(o.runnerIndex, { jobIndex: 3, runnersPerTarget: 2 });
  });

  it('defaults: no hand-off without --result-configmap; 300 s start timeout; no start signal', () => {
    const plain = options(['--target-url', 'http://127.0.0.1:1/v1', '--model', 'm']);
    assert.equal(plain.handoff, undefined);
    assert.equal(plain.configEnv, undefined);
    assert.equal(plain.runnerIndex, undefined);
    assert.deepEqual(options(['--result-configmap', 'lt-result-0']).handoff, {
      resultConfigMap: 'lt-result-0',
      startTimeoutSeconds: 300,
    });
  });

  it('rejects bad values, naming the flag', () => {
    assert.match(
      usageError(() => options(['--config-env', '1BAD'])),
      /^--config-env: expected an environment variable name/,
    );
    assert.match(
      usageError(() => options(['--result-configmap', 'Not_A_Name'])),
      /^--result-configmap: expected a ConfigMap name/,
    );
    assert.match(
      usageError(() => options(['--result-configmap', 'r', '--start-signal', 'UPPER'])),
      /^--start-signal: expected a ConfigMap name/,
    );
    assert.match(
      usageError(() => options(['--result-configmap', 'r', '--start-timeout', 'soon'])),
      /^--start-timeout: expected a duration/,
    );
    assert.match(
      usageError(() => options(['--result-configmap', 'r', '--start-timeout', '0'])),
      /^--start-timeout: /,
    );
    assert.match(
      usageError(() => options(['--job-index=-1', '--runners-per-target', '2'])),
      /^--job-index: expected an integer/,
    );
    assert.match(
      usageError(() => options(['--job-index', '0', '--runners-per-target', '0'])),
      /^--runners-per-target: expected an integer ≥ 1/,
    );
  });

  it('rejects flags that need another or conflict, naming both', () => {
    assert.match(
      usageError(() => options(['--start-signal', 's'])),
      /^--start-signal: needs --result-configmap/,
    );
    assert.match(
      usageError(() => options(['--start-timeout', '5s'])),
      /^--start-timeout: needs --result-configmap/,
    );
    assert.match(
      usageError(() => options(['--job-index', '1'])),
      /^--job-index: needs --runners-per-target/,
    );
    assert.match(
      usageError(() => options(['--runners-per-target', '2'])),
      /^--runners-per-target: needs --job-index/,
    );
    assert.match(
      usageError(() => options(['--job-index', '1', '--runners-per-target', '2', '--shard', '1/2'])),
      /--shard or --job-index, not both/,
    );
    assert.match(
      usageError(() => options(['--job-index', '1', '--runners-per-target', '2', '--target', 'small'])),
      /--target or --job-index, not both/,
    );
    assert.match(
      usageError(() => options(['--config', 'a.yaml', '--config-env', 'X'])),
      /--config or --config-env/,
    );
    assert.match(
      usageError(() => options(['--result-configmap', 'r', '--result-file', 'out.json'])),
      /--result-file or --result-configmap/,
    );
    assert.match(
      usageError(() => options(['--result-configmap', 'r', '--continuous'])),
      /^--result-configmap: does not apply with --continuous/,
    );
    assert.match(
      usageError(() => options(['--result-configmap', 'r', '--start-signal', 's', '--start-at', '0'])),
      /--start-at or --start-signal/,
    );
  });
});

describe('plan from --config-env and --job-index', () => {
  it('reads the config from the environment variable', () => {
    const plan = resolvePlanForRun(options(['--config-env', 'CFG']), { CFG: twoTargets });
    assert.deepEqual(
      plan.targets.map((t) => t.name),
      ['small', 'large'],
    );
  });

  it('names the flag and the variable when it is unset or empty', () => {
    assert.match(
      usageError(() => resolvePlanForRun(options(['--config-env', 'CFG']), {})),
      /^--config-env: .*CFG/,
    );
    assert.match(
      usageError(() => resolvePlanForRun(options(['--config-env', 'CFG']), { CFG: ' ' })),
      /CFG/,
    );
  });

  it('runner I takes target ⌊I/P⌋ as shard (I mod P)/P', () => {
    const pick = (index: number) =>
      resolvePlanForRun(options(['--config-env', 'CFG', '--job-index', String(index), '--runners-per-target', '2']), {
        CFG: twoTargets,
      });
    const expected = [
      ['small', 0],
      ['small', 1],
      ['large', 0],
      ['large', 1],
    ] as const;
    for (const [index, [target, shard]] of expected.entries()) {
      const plan = pick(index);
      assert.deepEqual(
        plan.targets.map((t) => t.name),
        [target],
      );
      assert.deepEqual(plan.load.share, { index: shard, count: 2 });
    }
  });

  it('rejects an index beyond targets × runners, naming --job-index', () => {
    const message = usageError(() =>
      resolvePlanForRun(options(['--config-env', 'CFG', '--job-index', '4', '--runners-per-target', '2']), {
        CFG: twoTargets,
      }),
    );
    assert.match(message, /^--job-index: .*0 to 3/);
  });
});

describe('termination message', () => {
  it('goes to LOADLM_TERMINATION_MESSAGE_PATH, else /dev/termination-log', () => {
    assert.equal(terminationMessagePath({ LOADLM_TERMINATION_MESSAGE_PATH: '/tmp/x' }), '/tmp/x');
    assert.equal(terminationMessagePath({}), '/dev/termination-log');
  });

  it('is only written for hand-off runs', () => {
    assert.equal(wantsHandoff(['--result-configmap=lt-result-0']), true);
    assert.equal(wantsHandoff(['--result-configmap', 'lt-result-0']), true);
    assert.equal(wantsHandoff(['--result-file', 'x.json']), false);
  });
});
