/** Every option of `loadlm run`: one list drives parsing and `--help`. */
import { runDefaults } from '../config/resolve.ts';
import type { CommandSpec, FlagSpec } from './args.ts';

/** Default of --start-timeout, in seconds. */
export const defaultStartTimeoutSeconds = 300;

const T = 'Target';
const L = 'Load';
const D = 'Data';
const S = 'SLOs (exit code 1 when breached)';
const M = 'Metrics';
const O = 'Outputs';
const R = 'Modes and process';
const E = 'Labels';
const K = "Kubernetes hand-off (set by the operator's runner Job)";

const configDescription =
  "YAML config in the design documents' shape (environments → targets; load, data, slo sections named as in the " +
  // biome-ignore lint/suspicious/noTemplateCurlyInString: documents the config's ${VAR} syntax
  'LoadTest CRD). ${VAR} and ${VAR:-default} are expanded from the environment. Flags override its values.';

const flags: FlagSpec[] = [
  {
    group: 'Config',
    name: 'config',
    short: 'c',
    kind: 'string',
    value: 'FILE',
    description: configDescription,
    defaultText: 'none: the target comes from flags',
  },
  {
    group: 'Config',
    name: 'environment',
    short: 'e',
    kind: 'string',
    value: 'NAME',
    description: 'Environment of the config to run; also the `environment` metric label.',
    defaultText: `the config's only environment; "${runDefaults.environment}" without a config`,
  },
  {
    group: 'Config',
    name: 'target',
    kind: 'string',
    value: 'NAME',
    description: 'Run only this target of the environment.',
    defaultText: 'all targets, concurrently',
  },

  {
    group: T,
    name: 'target-url',
    short: 'u',
    kind: 'string',
    value: 'URL',
    description:
      'Base URL (http://host:8000, .../v1) or full endpoint (.../v1/chat/completions, .../v1/completions). Without a config it defines the only target; with one, this and the other target flags override every selected target (pick one with --target).',
    defaultText: 'none; required without --config',
  },
  {
    group: T,
    name: 'model',
    short: 'm',
    kind: 'string',
    value: 'NAME',
    description: 'Model name sent in each request; the `model` metric label.',
    defaultText: 'none; required with --target-url',
  },
  {
    group: T,
    name: 'target-name',
    kind: 'string',
    value: 'NAME',
    description: 'Target name (the `target` metric label) when the target comes from flags.',
    defaultText: 'derived from the model name',
  },
  {
    group: T,
    name: 'api',
    kind: 'string',
    value: 'chat|completions',
    description: 'Endpoint kind.',
    defaultText: 'inferred from the URL path, else chat',
  },
  {
    group: T,
    name: 'no-stream',
    kind: 'boolean',
    description: 'Non-streaming requests (only end-to-end latency is measured).',
    defaultText: 'streaming',
  },
  {
    group: T,
    name: 'api-key-env',
    kind: 'string',
    value: 'NAME',
    description:
      'Read the API key from this environment variable (sent as Authorization: Bearer). Keys are never logged or reported.',
    defaultText: "the config's api_key, else none",
  },
  {
    group: T,
    name: 'api-key-file',
    kind: 'string',
    value: 'FILE',
    description: 'Read the API key from this file (e.g. a mounted Secret).',
    defaultText: 'none',
  },
  {
    group: T,
    name: 'header',
    kind: 'list',
    value: '"NAME: VALUE"',
    description: 'Extra request header; repeatable. Values are never logged or reported.',
    defaultText: 'none',
  },
  {
    group: T,
    name: 'max-connections',
    kind: 'string',
    value: 'N',
    description:
      'Connection pool size: hard cap on requests in flight; beyond it requests queue and show up as dispatch lag.',
    defaultText: `the concurrency for closed-loop profiles, 1 for synchronous, else ${runDefaults.maxConnections}`,
  },
  {
    group: T,
    name: 'connect-timeout',
    kind: 'string',
    value: 'DURATION',
    description: 'TCP/TLS connect timeout.',
    defaultText: `${runDefaults.connectSeconds}s`,
  },
  {
    group: T,
    name: 'headers-timeout',
    kind: 'string',
    value: 'DURATION',
    description: 'Time to response headers (covers server queueing and prefill).',
    defaultText: `${runDefaults.headersSeconds}s`,
  },
  {
    group: T,
    name: 'idle-timeout',
    kind: 'string',
    value: 'DURATION',
    description: 'Longest gap between streamed chunks before a request fails as a timeout.',
    defaultText: `${runDefaults.idleSeconds}s`,
  },
  {
    group: T,
    name: 'request-timeout',
    kind: 'string',
    value: 'DURATION',
    description: 'Cap on a whole request.',
    defaultText: 'none',
  },

  {
    group: L,
    name: 'profile',
    short: 'p',
    kind: 'string',
    value: 'PROFILE',
    description: 'synchronous, concurrent, constant, poisson, throughput or sweep.',
    defaultText: 'constant with --rate, concurrent with --concurrency, else synchronous',
  },
  {
    group: L,
    name: 'rate',
    short: 'r',
    kind: 'string',
    value: 'REQ/S',
    description: 'Requests per second (constant, poisson).',
    defaultText: 'none; required by constant and poisson unless --stages',
  },
  {
    group: L,
    name: 'concurrency',
    kind: 'string',
    value: 'N',
    description: 'Concurrent streams (concurrent); in-flight cap (throughput, sweep).',
    defaultText: 'none; required by concurrent unless --stages; the pool size for throughput and sweep',
  },
  {
    group: L,
    name: 'duration',
    short: 'd',
    kind: 'string',
    value: 'DURATION',
    description: 'Length of the run, warmup and cooldown included (90, 90s, 5m, 1h).',
    defaultText: `${runDefaults.durationSeconds}s unless --max-requests, --stages or sweep end the run`,
  },
  {
    group: L,
    name: 'max-requests',
    short: 'n',
    kind: 'string',
    value: 'N',
    description: 'Stop after this many requests.',
    defaultText: 'no limit',
  },
  {
    group: L,
    name: 'max-errors',
    kind: 'string',
    value: 'N',
    description: 'Stop after this many failed requests.',
    defaultText: 'no limit',
  },
  {
    group: L,
    name: 'warmup',
    kind: 'string',
    value: 'DURATION',
    description: 'Initial period excluded from statistics and metrics.',
    defaultText: '0',
  },
  {
    group: L,
    name: 'cooldown',
    kind: 'string',
    value: 'DURATION',
    description: 'Final period excluded from statistics and metrics.',
    defaultText: '0',
  },
  {
    group: L,
    name: 'stages',
    kind: 'string',
    value: 'LIST',
    description:
      'Staged run: comma-separated DURATION:VALUE[:ramp], VALUE a rate (constant, poisson) or a concurrency (concurrent, throughput), e.g. 30s:5,60s:20:ramp,60s:20.',
    defaultText: 'none',
  },
  {
    group: L,
    name: 'sweep-rates',
    kind: 'string',
    value: 'K',
    description: 'Sweep: rates between the synchronous and the throughput rate.',
    defaultText: '10 with --profile sweep',
  },
  {
    group: L,
    name: 'sweep-step',
    kind: 'string',
    value: 'DURATION',
    description: 'Sweep: length of each step.',
    defaultText: '30s with --profile sweep',
  },
  {
    group: L,
    name: 'sweep-profile',
    kind: 'string',
    value: 'constant|poisson',
    description: 'Sweep: profile of the rate steps.',
    defaultText: 'constant',
  },
  {
    group: L,
    name: 'late-threshold',
    kind: 'string',
    value: 'DURATION',
    description: 'A request sent later than this after its scheduled time counts as late.',
    defaultText: `${runDefaults.lateThresholdMs}ms`,
  },
  {
    group: L,
    name: 'shard',
    kind: 'string',
    value: 'I/N',
    description:
      "This runner's share when N runners split the load (I from 0). The union of all shards is exactly one runner's schedule.",
    defaultText: '0/1',
  },
  {
    group: L,
    name: 'start-at',
    kind: 'string',
    value: 'TIME',
    description: 'Common start time (RFC 3339 or epoch milliseconds); the run waits until then.',
    defaultText: 'now',
  },

  {
    group: D,
    name: 'prompt-tokens',
    kind: 'string',
    value: 'DIST',
    description: 'Prompt length: N, uniform:MIN-MAX or normal:MEAN,STDDEV[,MIN-MAX].',
    defaultText: String(runDefaults.promptTokens),
  },
  {
    group: D,
    name: 'output-tokens',
    kind: 'string',
    value: 'DIST',
    description: 'Output length (forced with max_tokens and ignore_eos), same syntax.',
    defaultText: String(runDefaults.outputTokens),
  },
  {
    group: D,
    name: 'shared-prefix-tokens',
    kind: 'string',
    value: 'N',
    description: 'Tokens shared by every prompt (prefix-cache tests).',
    defaultText: '0',
  },
  {
    group: D,
    name: 'dataset',
    kind: 'string',
    value: 'FILE',
    description:
      'JSONL prompts: {"prompt": ...} or {"messages": [...]}, optional "output_tokens"; used in order, cycling.',
    defaultText: 'none: synthetic prompts',
  },
  {
    group: D,
    name: 'seed',
    kind: 'string',
    value: 'N',
    description: 'Seed of prompts, lengths and poisson arrivals: the same seed sends the same requests.',
    defaultText: String(runDefaults.seed),
  },
  {
    group: D,
    name: 'calibration',
    kind: 'string',
    value: 'probe|off',
    description:
      "Prompt sizing: probe fits words→tokens from the server's usage before the run; off assumes 1 token per word.",
    defaultText: 'probe',
  },

  {
    group: S,
    name: 'slo-ttft-p95-ms',
    kind: 'string',
    value: 'MS',
    description: 'Largest allowed TTFT p95.',
    defaultText: 'none',
  },
  {
    group: S,
    name: 'slo-ttft-p99-ms',
    kind: 'string',
    value: 'MS',
    description: 'Largest allowed TTFT p99.',
    defaultText: 'none',
  },
  {
    group: S,
    name: 'slo-tpot-p95-ms',
    kind: 'string',
    value: 'MS',
    description: 'Largest allowed TPOT p95.',
    defaultText: 'none',
  },
  {
    group: S,
    name: 'slo-tpot-p99-ms',
    kind: 'string',
    value: 'MS',
    description: 'Largest allowed TPOT p99.',
    defaultText: 'none',
  },
  {
    group: S,
    name: 'slo-itl-p95-ms',
    kind: 'string',
    value: 'MS',
    description: 'Largest allowed ITL p95.',
    defaultText: 'none',
  },
  {
    group: S,
    name: 'slo-e2e-p95-ms',
    kind: 'string',
    value: 'MS',
    description: 'Largest allowed end-to-end p95.',
    defaultText: 'none',
  },
  {
    group: S,
    name: 'slo-e2e-p99-ms',
    kind: 'string',
    value: 'MS',
    description: 'Largest allowed end-to-end p99.',
    defaultText: 'none',
  },
  {
    group: S,
    name: 'slo-max-error-rate',
    kind: 'string',
    value: 'PERCENT',
    description: 'Largest allowed share of failed requests.',
    defaultText: 'none',
  },
  {
    group: S,
    name: 'slo-min-rps',
    kind: 'string',
    value: 'REQ/S',
    description: 'Smallest acceptable completed requests per second.',
    defaultText: 'none',
  },
  {
    group: S,
    name: 'slo-min-output-tps',
    kind: 'string',
    value: 'TOK/S',
    description: 'Smallest acceptable output tokens per second.',
    defaultText: 'none',
  },
  {
    group: S,
    name: 'slo-min-goodput',
    kind: 'string',
    value: 'PERCENT',
    description: 'Smallest acceptable share of good requests (needs a --goodput-* limit).',
    defaultText: 'none',
  },
  {
    group: S,
    name: 'goodput-ttft-ms',
    kind: 'string',
    value: 'MS',
    description: 'A good request has TTFT at most this.',
    defaultText: 'none',
  },
  {
    group: S,
    name: 'goodput-tpot-ms',
    kind: 'string',
    value: 'MS',
    description: 'A good request has TPOT at most this.',
    defaultText: 'none',
  },
  {
    group: S,
    name: 'goodput-e2e-ms',
    kind: 'string',
    value: 'MS',
    description: 'A good request has end-to-end latency at most this.',
    defaultText: 'none',
  },

  {
    group: E,
    name: 'provider',
    kind: 'string',
    value: 'NAME',
    description: '`provider` metric label (e.g. akamai-lke).',
    defaultText: "the config's, else unset",
  },
  {
    group: E,
    name: 'cluster',
    kind: 'string',
    value: 'NAME',
    description: '`cluster` metric label.',
    defaultText: "the config's, else unset",
  },
  {
    group: E,
    name: 'region',
    kind: 'string',
    value: 'NAME',
    description: '`region` metric label.',
    defaultText: "the config's, else unset",
  },
  {
    group: E,
    name: 'loadtest',
    kind: 'string',
    value: 'NAME',
    description: '`loadtest` metric label (the LoadTest name).',
    defaultText: 'unset',
  },

  {
    group: M,
    name: 'metrics-host',
    kind: 'string',
    value: 'HOST',
    description: 'Address /metrics listens on.',
    defaultText: '0.0.0.0',
  },
  {
    group: M,
    name: 'metrics-port',
    kind: 'string',
    value: 'PORT',
    description: 'Port of /metrics (0 = any free port, logged at start).',
    defaultText: '9090',
  },
  {
    group: M,
    name: 'no-metrics',
    kind: 'boolean',
    description: 'Do not serve /metrics.',
    defaultText: 'off: /metrics is served',
  },
  {
    group: M,
    name: 'linger',
    kind: 'string',
    value: 'DURATION',
    description:
      'Keep /metrics up this long after a one-shot run so the last scrape is not lost (set it above the scrape interval in a cluster).',
    defaultText: '0',
  },
  {
    group: M,
    name: 'pushgateway',
    kind: 'string',
    value: 'URL',
    description: 'Also push all metrics to this Pushgateway (job "loadlm"), periodically and at the end.',
    defaultText: 'none',
  },
  {
    group: M,
    name: 'push-interval',
    kind: 'string',
    value: 'DURATION',
    description: 'Period of Pushgateway pushes.',
    defaultText: '15s',
  },

  {
    group: O,
    name: 'report',
    short: 'o',
    kind: 'string',
    value: 'FILE',
    description: 'Write the versioned JSON report (summary, config without secrets, raw histograms) here.',
    defaultText: 'none',
  },
  {
    group: O,
    name: 'csv',
    kind: 'string',
    value: 'FILE',
    description: 'Write a CSV with one row per target and step.',
    defaultText: 'none',
  },
  {
    group: O,
    name: 'csv-per-request',
    kind: 'boolean',
    description: 'Make the CSV one row per request instead (all phases, with a phase column).',
    defaultText: 'off',
  },
  {
    group: O,
    name: 'result-file',
    kind: 'string',
    value: 'FILE',
    description:
      'Hand-off file for the operator: the stats aggregate as versioned JSON, rewritten during the run and at the end.',
    defaultText: 'none',
  },
  {
    group: O,
    name: 'result-interval',
    kind: 'string',
    value: 'DURATION',
    description: 'How often partial results are written.',
    defaultText: '10s',
  },
  {
    group: O,
    name: 'progress',
    kind: 'string',
    value: 'auto|bar|lines|off',
    description: 'Live progress on stderr: a bar on a TTY, periodic lines otherwise.',
    defaultText: 'auto',
  },
  {
    group: O,
    name: 'progress-interval',
    kind: 'string',
    value: 'DURATION',
    description: 'Period of progress lines.',
    defaultText: '5s',
  },
  {
    group: O,
    name: 'quiet',
    short: 'q',
    kind: 'boolean',
    description: 'No summary table on stdout.',
    defaultText: 'off',
  },

  {
    group: R,
    name: 'continuous',
    kind: 'boolean',
    description:
      'Repeat the run every --interval until SIGTERM/SIGINT, serving /metrics throughout (the in-cluster runner Deployment).',
    defaultText: 'off: one run',
  },
  {
    group: R,
    name: 'interval',
    kind: 'string',
    value: 'DURATION',
    description:
      'Continuous mode: time between the starts of consecutive runs (a longer run is followed at once by the next).',
    defaultText: '300s',
  },
  {
    group: R,
    name: 'grace-period',
    kind: 'string',
    value: 'DURATION',
    description:
      'On SIGTERM/SIGINT: time in-flight requests get to finish before they are cancelled. A second signal exits at once.',
    defaultText: '30s',
  },
  {
    group: R,
    name: 'log-level',
    kind: 'string',
    value: 'LEVEL',
    description: 'JSON log level on stderr: trace, debug, info, warn, error, fatal or silent.',
    defaultText: 'info',
  },
  { group: R, name: 'help', short: 'h', kind: 'boolean', description: 'Show this help.' },

  {
    group: K,
    name: 'config-env',
    kind: 'string',
    value: 'NAME',
    description:
      'Read the YAML config from this environment variable instead of --config (the Job fills it from the runner ConfigMap).',
    defaultText: 'none',
  },
  {
    group: K,
    name: 'result-configmap',
    kind: 'string',
    value: 'NAME',
    description:
      "Hand results to the operator in this ConfigMap (phase Ready before the start, partial results every --result-interval, the final one at the end). The pod's identity comes from LOADLM_NAMESPACE, LOADLM_POD_NAME, LOADLM_LOADTEST_NAME, LOADLM_LOADTEST_UID and JOB_COMPLETION_INDEX; credentials from KUBECONFIG or the in-cluster ServiceAccount.",
    defaultText: 'none: no hand-off',
  },
  {
    group: K,
    name: 'start-signal',
    kind: 'string',
    value: 'NAME',
    description:
      'After reporting Ready, wait for the common start time in this ConfigMap (needs --result-configmap); /metrics is served while waiting.',
    defaultText: 'start at once',
  },
  {
    group: K,
    name: 'start-timeout',
    kind: 'string',
    value: 'DURATION',
    description: 'Give up (exit code 3) when no start signal arrived within this time.',
    defaultText: `${defaultStartTimeoutSeconds}s`,
  },
  {
    group: K,
    name: 'job-index',
    kind: 'string',
    value: 'I',
    description:
      'Runner index in the Job: with P = --runners-per-target, runner I drives target ⌊I/P⌋ of the environment (in config order) as shard (I mod P)/P. Instead of --shard and --target.',
    defaultText: 'none',
  },
  {
    group: K,
    name: 'runners-per-target',
    kind: 'string',
    value: 'P',
    description: 'Runners sharing each target (needs --job-index).',
    defaultText: 'none',
  },
];

export const runCommand: CommandSpec = {
  usage: 'loadlm run',
  summary:
    'Load-test OpenAI-compatible LLM endpoints (vLLM and others) and report TTFT, ITL, TPOT, end-to-end latency, throughput, errors and goodput.',
  flags,
  epilog: `Durations: 90 (seconds), 90s, 5m, 1h, 500ms.
Token lengths: 128, fixed:128, uniform:64-256, normal:128,32 (clamped to [1, mean+3·stddev]) or normal:128,32,16-512.

Exit codes: 0 success; 1 an SLO was breached; 2 usage or configuration error; 3 the run failed (no request
succeeded: target unreachable, every request an error); 130/143 interrupted by SIGINT/SIGTERM (the report is
still written). In --continuous mode a signal ends the process with 0.

Examples:
  loadlm run --target-url http://localhost:8000/v1 --model mistralai/Mistral-7B-Instruct-v0.3 --rate 5 --duration 2m
  API_KEY=... loadlm run --config configs/config-development.yaml --environment development --report out.json
  loadlm run -c config.yaml --continuous --interval 300 --metrics-port 9090`,
};
