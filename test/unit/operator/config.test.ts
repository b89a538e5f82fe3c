import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, defaultRunnerImage, parseConfig } from '../../../operator/config.ts';

describe('operator config', () => {
  it('has defaults that run a single operator watching all namespaces', () => {
    assert.deepEqual(parseConfig([], {}), {
      namespaces: [],
      runnerImage: defaultRunnerImage,
      leaderElectionNamespace: 'loadlm-system',
      leaderElectionName: 'loadlm-operator',
      httpPort: 8080,
      httpHost: '0.0.0.0',
      logLevel: 'info',
      maxConcurrentReconciles: 4,
      progressIntervalMs: 10_000,
      runnerLingerSeconds: undefined,
      controllers: ['loadtest', 'observabilitystack'],
    });
  });

  it('runs only the controllers named by --controllers and rejects unknown ones', () => {
    const config = parseConfig(['--controllers=observabilitystack'], {});
    assert.ok(config !== 'help');
    assert.deepEqual(config.controllers, ['observabilitystack']);
    assert.throws(
      () => parseConfig([], { LOADLM_CONTROLLERS: 'loadtest,grafana' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /--controllers \(env LOADLM_CONTROLLERS\): unknown controller "grafana"/.test(error.message),
    );
  });

  it('takes env vars, and flags over env vars', () => {
    const config = parseConfig(['--namespaces=a,b', '--progress-interval=2s'], {
      LOADLM_NAMESPACES: 'ignored',
      LOADLM_RUNNER_IMAGE: 'example.com/runner:1',
      LOADLM_LEADER_ELECTION_NAMESPACE: '',
      LOADLM_RUNNER_LINGER: '1500ms',
    });
    assert.ok(config !== 'help');
    assert.deepEqual(config.namespaces, ['a', 'b']);
    assert.equal(config.runnerImage, 'example.com/runner:1');
    assert.equal(config.leaderElectionNamespace, false);
    assert.equal(config.progressIntervalMs, 2_000);
    assert.equal(config.runnerLingerSeconds, 2);
  });

  it('names the flag, its env var and what was expected', () => {
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [['--http-port=99999'], {}, /--http-port \(env LOADLM_HTTP_PORT\): expected an integer from 0 to 65535/],
      [[], { LOADLM_NAMESPACES: 'Team_A' }, /--namespaces \(env LOADLM_NAMESPACES\): "Team_A" is not a valid/],
      [['--progress-interval=soon'], {}, /--progress-interval \(env LOADLM_PROGRESS_INTERVAL\): expected a duration/],
      [['--max-concurrent-reconciles=0'], {}, /expected an integer from 1 to 64, got "0"/],
      [['--log-level=loud'], {}, /--log-level \(env LOADLM_LOG_LEVEL\): expected one of trace, debug/],
      [['--no-such-flag'], {}, /Unknown option '--no-such-flag'/],
    ];
    for (const [argv, env, message] of cases) {
      assert.throws(
        () => parseConfig(argv, env),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, message);
          return true;
        },
      );
    }
  });

  it('answers --help', () => {
    assert.equal(parseConfig(['--help'], {}), 'help');
  });
});
