/**
 * Bad input to the real `loadlm` process: every case must exit 2 with an error that names the flag or the
 * config field and says what was expected — no stack trace, no run started, no silent acceptance — and the
 * help of each command must document every option with its default.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runLoadlm } from './process.ts';

/** Nothing listens here; a case that is wrongly accepted fails fast instead of load-testing something. */
const T = ['--target-url', 'http://127.0.0.1:9/v1', '--model', 'm', '--calibration', 'off', '--no-metrics'];

interface Case {
  name: string;
  args: string[] | ((dir: string) => string[]);
  /** Must match the error output (naming the flag or field and what was expected). */
  error: RegExp;
  env?: NodeJS.ProcessEnv;
  /** Must not appear anywhere in the output (secrets). */
  absent?: string;
}

const target = (extra = '') =>
  `environments:\n  dev:\n    targets:\n      - name: a\n        url: http://127.0.0.1:9/v1\n        model: m\n${extra}`;

/** Config files the cases refer to by name (written into a temporary directory). */
const files: Record<string, string> = {
  'ok.yaml': target(),
  'not-yaml.yaml': 'environments: [unclosed\n  - x: {\n',
  'list.yaml': '- a\n- b\n',
  'two-envs.yaml': `${target()}  prod:\n    targets:\n      - {name: b, url: "http://127.0.0.1:9/v1", model: m}\n`,
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's ${VAR} syntax, written as is
  'unset-var.yaml': target('        api_key: ${LOADLM_TEST_UNSET_KEY}\n'),
  'unknown-field.yaml': `${target()}load: {profile: constant, rate: 1, durationSeconds: 10, ratee: 3}\n`,
  'load-list.yaml': `${target()}load: [1]\n`,
  'rate-word.yaml': `${target()}load: {profile: constant, rate: fast}\n`,
  'concurrency-string.yaml': `${target()}load: {profile: concurrent, concurrency: "5", durationSeconds: 10}\n`,
  'stream-word.yaml': target('        stream: "yes"\n'),
  'no-targets.yaml': 'environments:\n  dev:\n    targets: []\n',
  'bad-url.yaml': target().replace('http://127.0.0.1:9/v1', 'not a url'),
  'bad-header.yaml': target('        headers: {"X Y": v}\n'),
  'fraction-tokens.yaml': `${target()}data: {promptTokens: 1.5, outputTokens: 8}\n`,
  'numeric-key.yaml': target('        api_key: 918273645\n'),
  'cooldown-no-end.yaml': `${target()}load: {profile: constant, rate: 1, maxRequests: 10, cooldownSeconds: 5}\n`,
  'pool-too-small.yaml': `${target('        maxConnections: 2\n')}load: {profile: concurrent, concurrency: 5, durationSeconds: 10}\n`,
  'dataset.txt': 'this is not JSON\n',
};

const runCases: Case[] = [
  // The reported bug: the engine refused it after the run had started (exit 3, no message).
  {
    name: 'late threshold zero',
    args: [...T, '--late-threshold', '0'],
    error: /--late-threshold: expected a duration > 0s, got 0/,
  },
  {
    name: 'late threshold negative',
    args: [...T, '--late-threshold', '-5ms'],
    error: /--late-threshold: expected a duration .*got "-5ms"/,
  },
  {
    name: 'late threshold huge',
    args: [...T, '--late-threshold', '2h'],
    error: /--late-threshold: expected a duration ≤ 1h/,
  },
  // Numbers
  { name: 'rate zero', args: [...T, '--rate', '0'], error: /--rate: expected a number > 0, got 0/ },
  { name: 'rate negative', args: [...T, '--rate', '-3'], error: /--rate: expected a number > 0, got -3/ },
  { name: 'rate word', args: [...T, '-r', 'fast'], error: /--rate: expected a number > 0, got "fast"/ },
  { name: 'rate 4 decimals', args: [...T, '--rate', '1.2345'], error: /--rate: expected at most 3 decimal places/ },
  { name: 'rate infinity', args: [...T, '--rate', 'Infinity'], error: /--rate: expected a number > 0, got "Infinity"/ },
  {
    name: 'concurrency fraction',
    args: [...T, '--concurrency', '1.5'],
    error: /--concurrency: expected an integer ≥ 1/,
  },
  {
    name: 'concurrency huge',
    args: [...T, '--concurrency', '1000001'],
    error: /--concurrency: expected an integer ≥ 1 and ≤ 100000/,
  },
  { name: 'max requests zero', args: [...T, '-n', '0'], error: /--max-requests: expected an integer ≥ 1/ },
  {
    name: 'max errors negative',
    args: [...T, '--max-errors', '-1'],
    error: /--max-errors: expected an integer ≥ 1.*got -1/,
  },
  {
    name: 'max connections zero',
    args: [...T, '--max-connections', '0'],
    error: /--max-connections: expected an integer ≥ 1/,
  },
  { name: 'seed negative', args: [...T, '--seed', '-1'], error: /--seed: expected an integer ≥ 0/ },
  {
    name: 'metrics port too big',
    args: [...T.slice(0, -1), '--metrics-port', '70000'],
    error: /--metrics-port: expected an integer ≥ 0 and ≤ 65535/,
  },
  {
    name: 'shared prefix fraction',
    args: [...T, '--shared-prefix-tokens', '2.5'],
    error: /--shared-prefix-tokens: expected an integer/,
  },
  { name: 'slo ms zero', args: [...T, '--slo-ttft-p95-ms', '0'], error: /--slo-ttft-p95-ms: expected an integer ≥ 1/ },
  {
    name: 'slo percent over 100',
    args: [...T, '--slo-max-error-rate', '101'],
    error: /--slo-max-error-rate: expected a number ≥ 0 and ≤ 100, got 101/,
  },
  { name: 'slo min rps zero', args: [...T, '--slo-min-rps', '0'], error: /--slo-min-rps: expected a number > 0/ },
  // Durations
  { name: 'duration zero', args: [...T, '--duration', '0'], error: /--duration: expected a duration ≥ 1s, got 0/ },
  {
    name: 'duration bad unit',
    args: [...T, '--duration', '10parsecs'],
    error: /--duration: expected a duration such as 90, 90s, 5m, 1h or 500ms, got "10parsecs"/,
  },
  { name: 'duration fraction', args: [...T, '--duration', '1.5'], error: /--duration: expected whole seconds/ },
  { name: 'duration huge', args: [...T, '--duration', '999h'], error: /--duration: expected a duration ≤ 168h/ },
  {
    name: 'connect timeout zero',
    args: [...T, '--connect-timeout', '0'],
    error: /--connect-timeout: expected a duration ≥ 1s/,
  },
  {
    name: 'idle timeout over the limit',
    args: [...T, '--idle-timeout', '2h'],
    error: /targets\[0\]\.timeouts\.idleSeconds \(from --idle-timeout\): expected a number ≤ 3600, got 7200/,
  },
  {
    name: 'grace period beyond timers',
    args: [...T, '--grace-period', '800h'],
    error: /--grace-period: expected a duration ≤ 168h/,
  },
  {
    name: 'progress interval zero',
    args: [...T, '--progress-interval', '0'],
    error: /--progress-interval: expected a duration ≥ 0.1s/,
  },
  {
    name: 'warmup swallows the run',
    args: [...T, '--rate', '1', '--duration', '60', '--warmup', '60'],
    error: /load\.warmupSeconds \(from --warmup\): warmupSeconds \+ cooldownSeconds must be less than durationSeconds/,
  },
  // Profiles and their combinations
  {
    name: 'unknown profile',
    args: [...T, '--profile', 'bogus'],
    error: /--profile: expected one of synchronous, concurrent, constant, poisson, throughput, sweep, got "bogus"/,
  },
  {
    name: 'rate with concurrent',
    args: [...T, '--profile', 'concurrent', '--rate', '5'],
    error: /load\.rate \(from --rate\): rate is not allowed when profile is concurrent/,
  },
  {
    name: 'concurrency with constant',
    args: [...T, '--rate', '5', '--concurrency', '4'],
    error: /load\.concurrency \(from --concurrency\): concurrency is not allowed when profile is constant/,
  },
  {
    name: 'constant without rate',
    args: [...T, '--profile', 'constant'],
    error: /load\.rate: rate is required when profile is constant or poisson/,
  },
  {
    name: 'concurrency above the pool',
    args: [...T, '--profile', 'concurrent', '--concurrency', '50', '--max-connections', '10'],
    error: /load\.concurrency \(from --concurrency\): 50 exceeds target\.maxConnections \(10\)/,
  },
  {
    name: 'cooldown without a known end',
    args: [...T, '--rate', '1', '-n', '10', '--cooldown', '5'],
    error: /load\.cooldownSeconds \(from --cooldown\): needs durationSeconds or stages/,
  },
  {
    name: 'sweep split across runners',
    args: [...T, '--profile', 'sweep', '--shard', '0/2'],
    error: /load\.share \(from --shard\): a sweep cannot be split across runners/,
  },
  {
    name: 'sweep flag without sweep',
    args: [...T, '--sweep-profile', 'poisson'],
    error: /load\.sweep \(from --sweep-profile\): sweep is only allowed when profile is sweep/,
  },
  {
    name: 'sweep rates out of range',
    args: [...T, '--profile', 'sweep', '--sweep-rates', '0'],
    error: /--sweep-rates: expected an integer ≥ 1 and ≤ 50/,
  },
  {
    name: 'shard leaves a runner without streams',
    args: [...T, '--profile', 'concurrent', '--concurrency', '2', '--shard', '2/3'],
    error: /load\.concurrency \(from --concurrency\): 2 concurrent streams split 3 ways leave runner 2 none/,
  },
  { name: 'shard malformed', args: [...T, '--shard', '2/2'], error: /--shard: expected I\/N with 0 ≤ I < N/ },
  // Stages
  { name: 'stages without profile', args: [...T, '--stages', '30s:5'], error: /--stages: also give --profile/ },
  {
    name: 'stage without value',
    args: [...T, '--profile', 'constant', '--stages', '30s'],
    error: /--stages: stage 1 \("30s"\): expected DURATION:VALUE or DURATION:VALUE:ramp/,
  },
  {
    name: 'second stage empty',
    args: [...T, '--profile', 'constant', '--stages', '30s:5,,60s:2'],
    error: /--stages: stage 2 \(""\): expected DURATION:VALUE/,
  },
  {
    name: 'stage value zero',
    args: [...T, '--profile', 'constant', '--stages', '30s:0'],
    error: /--stages: expected a number > 0, got 0/,
  },
  {
    name: 'stage bad duration',
    args: [...T, '--profile', 'constant', '--stages', 'soon:5'],
    error: /--stages: expected a duration such as/,
  },
  {
    name: 'fractional stage concurrency',
    args: [...T, '--profile', 'concurrent', '--stages', '30s:1.5'],
    error: /load\.stages\[0\]\.concurrency \(from --stages\): expected an integer, got 1\.5/,
  },
  {
    name: 'stages with duration',
    args: [...T, '--profile', 'constant', '--stages', '30s:5', '--duration', '60'],
    error: /load\.stages \(from --stages\): stages replace rate, concurrency and durationSeconds/,
  },
  // Data
  {
    name: 'prompt range reversed',
    args: [...T, '--prompt-tokens', 'uniform:10-5'],
    error: /--prompt-tokens: range 10-5: max must be ≥ min/,
  },
  {
    name: 'output tokens malformed',
    args: [...T, '--output-tokens', 'normal:abc'],
    error: /--output-tokens: expected N, fixed:N, uniform:MIN-MAX or normal:MEAN,STDDEV/,
  },
  {
    name: 'prompt tokens huge',
    args: [...T, '--prompt-tokens', '2000000'],
    error: /data\.promptTokens\.value \(from --prompt-tokens\): expected a number ≤ 1000000/,
  },
  {
    name: 'dataset missing',
    args: (d) => [...T, '--dataset', join(d, 'missing.jsonl')],
    error: /data\.dataset \(from --dataset\): cannot read .*missing\.jsonl/,
  },
  {
    name: 'dataset not JSONL',
    args: (d) => [...T, '--dataset', join(d, 'dataset.txt')],
    error: /data\.dataset \(from --dataset\) .*dataset\.txt:1: invalid JSON/,
  },
  {
    name: 'dataset with shared prefix',
    args: (d) => [...T, '--dataset', join(d, 'dataset.txt'), '--shared-prefix-tokens', '4'],
    error: /data\.sharedPrefixTokens \(from --shared-prefix-tokens\): sharedPrefixTokens is not allowed with dataset/,
  },
  {
    name: 'unknown calibration',
    args: [...T, '--calibration', 'maybe'],
    error: /--calibration: expected one of probe, off, got "maybe"/,
  },
  // SLOs
  {
    name: 'min goodput without limits',
    args: [...T, '--slo-min-goodput', '90'],
    error: /slo\.goodput \(from --slo-min-goodput\): minGoodputPercent requires goodput/,
  },
  {
    name: 'TTFT SLO without streaming',
    args: [...T, '--no-stream', '--slo-ttft-p95-ms', '500'],
    error: /slo\.ttftP95Milliseconds \(from --slo-ttft-p95-ms\): needs streaming/,
  },
  // Target
  {
    name: 'url not a URL',
    args: ['--target-url', 'notaurl', '--model', 'm'],
    error: /--target-url: expected an absolute http\(s\) URL, got "notaurl"/,
  },
  {
    name: 'url not http',
    args: ['--target-url', 'ftp://127.0.0.1/v1', '--model', 'm'],
    error: /--target-url: expected an http or https URL, got protocol ftp:/,
  },
  {
    name: 'url credentials stay out',
    args: ['--target-url', 'http//user:hunter2@host', '--model', 'm'],
    error: /--target-url: expected an absolute http\(s\) URL/,
    absent: 'hunter2',
  },
  {
    name: 'url without model',
    args: ['--target-url', 'http://127.0.0.1:9/v1'],
    error: /--model is required with --target-url/,
  },
  { name: 'no target at all', args: ['--model', 'm'], error: /--target-url is required \(or give --config/ },
  { name: 'unknown api', args: [...T, '--api', 'grpc'], error: /--api: expected one of chat, completions, got "grpc"/ },
  {
    name: 'api contradicts the URL',
    args: ['--target-url', 'http://127.0.0.1:9/v1/chat/completions', '--model', 'm', '--api', 'completions'],
    error: /targets\[0\]\.api: "completions" contradicts the URL path/,
  },
  {
    name: 'header without colon',
    args: [...T, '--header', 'nocolon'],
    error: /--header: expected "NAME: VALUE" with a valid header name/,
  },
  {
    name: 'api key variable unset',
    args: [...T, '--api-key-env', 'LOADLM_TEST_UNSET_KEY'],
    error: /--api-key-env LOADLM_TEST_UNSET_KEY: environment variable LOADLM_TEST_UNSET_KEY is not set or empty/,
  },
  {
    name: 'api key file missing',
    args: (d) => [...T, '--api-key-file', join(d, 'no-key')],
    error: /--api-key-file .*no-key: cannot read the API key file \(ENOENT\)/,
  },
  {
    name: 'target name not a label',
    args: [...T, '--target-name', 'Bad_Name'],
    error: /targets\[0\]\.name \(from --target-name\): expected a DNS-1123 label/,
  },
  {
    name: 'loadtest label invalid',
    args: [...T, '--loadtest', 'bad name!'],
    error: /loadtest \(from --loadtest\): expected a label value/,
  },
  {
    name: 'environment label invalid',
    args: [...T, '--environment', 'bad env'],
    error: /--environment bad env: expected a label value/,
  },
  // Outputs, metrics and modes
  {
    name: 'push interval without pushgateway',
    args: [...T, '--push-interval', '5s'],
    error: /--push-interval: needs --pushgateway/,
  },
  {
    name: 'pushgateway not a URL',
    args: [...T, '--pushgateway', 'gateway:9091'],
    error: /--pushgateway: expected an http or https URL/,
  },
  {
    name: 'result interval without a result',
    args: [...T, '--result-interval', '5s'],
    error: /--result-interval: needs --result-file or --result-configmap/,
  },
  {
    name: 'interval without continuous',
    args: [...T, '--interval', '5m'],
    error: /--interval: only applies with --continuous/,
  },
  {
    name: 'linger without metrics',
    args: [...T, '--linger', '30s'],
    error: /--linger: does not apply with --no-metrics/,
  },
  {
    name: 'csv per request without csv',
    args: [...T, '--csv-per-request'],
    error: /--csv-per-request: needs --csv FILE/,
  },
  {
    name: 'start at not a time',
    args: [...T, '--start-at', 'tomorrow'],
    error: /--start-at: expected an RFC 3339 time or epoch milliseconds, got "tomorrow"/,
  },
  {
    name: 'start at far ahead',
    args: [...T, '--start-at', '99999999999999'],
    error: /--start-at: expected a time within the next 7 days/,
  },
  {
    name: 'unknown log level',
    args: [...T, '--log-level', 'verbose'],
    error: /--log-level: expected one of trace, debug, info, warn, error, fatal, silent/,
  },
  {
    name: 'unknown progress mode',
    args: [...T, '--progress', 'fancy'],
    error: /--progress: expected one of auto, bar, lines, off/,
  },
  // Hand-off flags
  {
    name: 'configmap name invalid',
    args: [...T, '--result-configmap', 'Bad_Name'],
    error: /--result-configmap: expected a ConfigMap name/,
  },
  {
    name: 'start signal alone',
    args: [...T, '--start-signal', 'go'],
    error: /--start-signal: needs --result-configmap/,
  },
  { name: 'job index alone', args: [...T, '--job-index', '0'], error: /--job-index: needs --runners-per-target/ },
  // Parsing
  {
    name: 'unknown flag with suggestion',
    args: [...T, '--ratee', '5'],
    error: /unknown option --ratee \(did you mean --rate\?\)/,
  },
  { name: 'missing value', args: [...T, '--rate'], error: /--rate: expected a value \(REQ\/S\)/ },
  { name: 'empty value', args: [...T, '--rate='], error: /--rate: expected a value, got an empty string/ },
  { name: 'value on a switch', args: [...T, '--quiet=yes'], error: /--quiet: is a switch and takes no value/ },
  { name: 'stray argument', args: [...T, 'fast'], error: /unexpected argument 'fast' for 'loadlm run'/ },
  // Config files
  {
    name: 'config missing',
    args: (d) => ['--config', join(d, 'nope.yaml')],
    error: /--config .*nope\.yaml: cannot read the file \(ENOENT\)/,
  },
  {
    name: 'config not YAML',
    args: (d) => ['--config', join(d, 'not-yaml.yaml')],
    error: /not-yaml\.yaml:1:\d+: invalid YAML: /,
  },
  {
    name: 'config a list',
    args: (d) => ['--config', join(d, 'list.yaml')],
    error: /list\.yaml: expected a mapping at the top level/,
  },
  {
    name: 'config unknown environment',
    args: (d) => ['--config', join(d, 'ok.yaml'), '--environment', 'nope'],
    error: /--environment nope: no such environment in the config \(available: dev\)/,
  },
  {
    name: 'config environment not chosen',
    args: (d) => ['--config', join(d, 'two-envs.yaml')],
    error: /choose one with --environment \(available: dev, prod\)/,
  },
  {
    name: 'config unknown target',
    args: (d) => ['--config', join(d, 'ok.yaml'), '--target', 'zz'],
    error: /--target zz: no such target in environment dev \(available: a\)/,
  },
  {
    name: 'config variable unset',
    args: (d) => ['--config', join(d, 'unset-var.yaml')],
    error:
      /environments\.dev\.targets\[0\]\.api_key: environment variable LOADLM_TEST_UNSET_KEY is not set \(or give a default/,
  },
  {
    name: 'config unknown field',
    args: (d) => ['--config', join(d, 'unknown-field.yaml')],
    error: /load\.ratee: unknown field/,
  },
  {
    name: 'config section not a mapping',
    args: (d) => ['--config', join(d, 'load-list.yaml')],
    error: /load: expected a mapping of load settings, got a list/,
  },
  {
    name: 'config rate a word',
    args: (d) => ['--config', join(d, 'rate-word.yaml')],
    error: /load\.rate: expected a positive number with at most 3 decimal places .*got "fast"/,
  },
  {
    name: 'config number as string',
    args: (d) => ['--config', join(d, 'concurrency-string.yaml')],
    error: /load\.concurrency: expected a number, got "5"/,
  },
  {
    name: 'config boolean as word',
    args: (d) => ['--config', join(d, 'stream-word.yaml')],
    error: /targets\[0\]\.stream: expected true or false, got "yes"/,
  },
  {
    name: 'config no targets',
    args: (d) => ['--config', join(d, 'no-targets.yaml')],
    error: /environments\.dev\.targets: expected at least one target/,
  },
  {
    name: 'config bad url',
    args: (d) => ['--config', join(d, 'bad-url.yaml')],
    error: /targets\[0\]\.url: expected an http\(s\) URL/,
  },
  {
    name: 'config bad header name',
    args: (d) => ['--config', join(d, 'bad-header.yaml')],
    error: /targets\[0\]\.headers\.X Y: invalid name: expected an HTTP header name/,
  },
  {
    name: 'config fractional tokens',
    args: (d) => ['--config', join(d, 'fraction-tokens.yaml')],
    error: /data\.promptTokens: expected a whole number of tokens, got 1\.5/,
  },
  {
    name: 'config key of the wrong type stays secret',
    args: (d) => ['--config', join(d, 'numeric-key.yaml')],
    error: /targets\[0\]\.api_key: expected a string/,
    absent: '918273645',
  },
  {
    name: 'config cooldown without an end',
    args: (d) => ['--config', join(d, 'cooldown-no-end.yaml')],
    error: /load\.cooldownSeconds: needs durationSeconds or stages/,
  },
  {
    name: 'config pool too small',
    args: (d) => ['--config', join(d, 'pool-too-small.yaml')],
    error: /load\.concurrency: 5 exceeds target\.maxConnections \(2\)/,
  },
  {
    name: 'config and config-env',
    args: (d) => ['--config', join(d, 'ok.yaml'), '--config-env', 'LOADLM_CONFIG'],
    error: /--config-env: give --config or --config-env, not both/,
  },
  {
    name: 'config-env unset',
    args: ['--config-env', 'LOADLM_TEST_UNSET_CONFIG'],
    error: /--config-env: environment variable LOADLM_TEST_UNSET_CONFIG is not set or empty/,
  },
];

const simCases: Case[] = [
  { name: 'port too big', args: ['--port', '70000'], error: /--port: expected a number ≤ 65535/ },
  { name: 'port negative', args: ['--port', '-1'], error: /--port: expected a number ≥ 0/ },
  { name: 'ttft a word', args: ['--ttft-ms', 'soon'], error: /--ttft-ms: expected a number, got "soon"/ },
  { name: 'ttft beyond timers', args: ['--ttft-ms', '1e12'], error: /--ttft-ms: expected at most 86400000/ },
  {
    name: 'jitter above the mean',
    args: ['--ttft-ms', '10', '--ttft-jitter-ms', '20'],
    error: /--ttft-jitter-ms: must not exceed --ttft-ms/,
  },
  { name: 'max num seqs zero', args: ['--max-num-seqs', '0'], error: /--max-num-seqs: expected a number ≥ 1/ },
  {
    name: 'fewer seqs than workers',
    args: ['--workers', '4', '--max-num-seqs', '2'],
    error: /--max-num-seqs: must be ≥ --workers/,
  },
  {
    name: 'eos range reversed',
    args: ['--eos-min-tokens', '10', '--eos-max-tokens', '5'],
    error: /--eos-max-tokens: must be ≥ --eos-min-tokens/,
  },
  { name: 'workers fraction', args: ['--workers', '1.5'], error: /--workers: expected an integer, got "1.5"/ },
  { name: 'unknown fault', args: ['--faults', 'explode'], error: /--faults \(value 1\): unknown fault "explode"/ },
  {
    name: 'fault status not an error',
    args: ['--faults', 'status=200'],
    error: /--faults \(value 1\): status must be an HTTP error status/,
  },
  {
    name: 'second fault bad',
    args: ['--faults', 'status=503', '--faults', 'reset-after=x'],
    error: /--faults \(value 2\): reset-after must be a non-negative integer/,
  },
  {
    name: 'fault probability above 1',
    args: ['--faults', 'status=503@p=2'],
    error: /--faults \(value 1\): p must be a probability in \[0, 1\]/,
  },
  {
    name: 'boolean a word',
    args: ['--fault-header', 'yes'],
    error: /--fault-header: expected true or false, got "yes"/,
  },
  {
    name: 'api key variable unset',
    args: ['--api-key-env', 'LOADLM_TEST_UNSET_KEY'],
    error: /--api-key-env LOADLM_TEST_UNSET_KEY: environment variable LOADLM_TEST_UNSET_KEY is not set or empty/,
  },
  {
    name: 'api key twice',
    args: ['--api-key', 'k', '--api-key-env', 'X'],
    error: /--api-key-env: give --api-key or --api-key-env, not both/,
  },
  { name: 'grace a word', args: ['--shutdown-grace', 'soon'], error: /--shutdown-grace: expected a duration such as/ },
  { name: 'unknown flag', args: ['--colour', 'red'], error: /unknown option --colour for 'loadlm sim'/ },
];

describe('bad input exits 2 with an error naming the flag or field', { concurrency: 2 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'loadlm-bad-input-'));
    await Promise.all(Object.entries(files).map(([name, text]) => writeFile(join(dir, name), text)));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const check = (command: 'run' | 'sim', c: Case) =>
    it(`loadlm ${command}: ${c.name}`, async () => {
      const args = typeof c.args === 'function' ? c.args(dir) : c.args;
      const r = await runLoadlm([command, ...args], c.env ?? {}, 30_000);
      const shown = `loadlm ${command} ${args.join(' ')}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
      assert.equal(r.code, 2, shown);
      const lines = r.stderr.trimEnd().split('\n');
      assert.match(lines[0] ?? '', /^loadlm: /, shown);
      assert.match(r.stderr, c.error, shown);
      assert.doesNotMatch(r.stderr, /^\s+at |internal error/m, `no stack trace\n${shown}`);
      assert.equal(r.logs.length, 0, `nothing started (no log lines)\n${shown}`);
      assert.equal(r.stdout, '', shown);
      if (c.absent) assert.ok(!`${r.stdout}${r.stderr}`.includes(c.absent), `"${c.absent}" leaked\n${shown}`);
    });
  for (const c of runCases) check('run', c);
  for (const c of simCases) check('sim', c);
});

/** Option blocks of a help text: the `--flag` line and its continuation lines. */
function optionBlocks(help: string): Map<string, string> {
  const blocks = new Map<string, string>();
  let current: string | undefined;
  for (const line of help.split('\n')) {
    const head = /^ {2}(?:-\w, | {4})--([a-z0-9-]+)/.exec(line);
    if (head) {
      current = head[1] as string;
      blocks.set(current, line);
    } else if (current !== undefined && /^ {10,}\S/.test(line)) {
      blocks.set(current, `${blocks.get(current)} ${line.trim()}`);
    } else {
      current = undefined;
    }
  }
  return blocks;
}

describe('help documents every option with its default', () => {
  const undocumented = async (command: string) => {
    const r = await runLoadlm([command, '--help']);
    assert.equal(r.code, 0, r.stderr);
    const blocks = optionBlocks(r.stdout);
    assert.ok(blocks.size > 5, `options found in 'loadlm ${command} --help'\n${r.stdout}`);
    return [...blocks].filter(([name, text]) => name !== 'help' && !/\(default: [^)]/.test(text)).map(([n]) => n);
  };

  it('loadlm --help lists every command and the exit codes', async () => {
    const r = await runLoadlm(['--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const command of ['run', 'sim', 'compare', 'version', 'help']) {
      assert.match(r.stdout, new RegExp(`^ {2}${command} +\\S`, 'm'), `command ${command}`);
    }
    assert.match(r.stdout, /Exit codes: 0 success, 1 SLO breached, 2 usage error, 3 run failed/);
  });

  it('loadlm run --help', async () => {
    assert.deepEqual(await undocumented('run'), []);
  });

  it('loadlm sim --help', async () => {
    assert.deepEqual(await undocumented('sim'), []);
  });

  it('loadlm compare --help', async () => {
    assert.deepEqual(await undocumented('compare'), []);
  });
});
