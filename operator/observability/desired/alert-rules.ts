/**
 * The alerting rules of an ObservabilityStack's PrometheusRule: the design documents' three alerts (high TTFT p95,
 * high error rate, GPU memory), applied to every source that has the metric — the RAG backend (`rag_*`, the design
 * documents' own rules), the loadlm runner (`guidellm_*`, client side), vLLM (`vllm:*`, server side) and the DCGM
 * exporter. Every alert aggregates by the environment labels (provider, cluster, region, environment) that the
 * ServiceMonitor relabelings stamp on each series, so a central Alertmanager can tell which cluster it is.
 */
import { AlertSettings } from '../../../api/observabilitystack.ts';

export interface PrometheusRuleEntry {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface PrometheusRuleGroup {
  name: string;
  interval?: string;
  rules: PrometheusRuleEntry[];
}

/** Alert settings with every default applied (what an ObservabilityStack without `spec.alerts` gets). */
export const defaultAlertSettings: AlertSettings = AlertSettings.parse({});

export const alertRuleGroupName = 'loadlm.alerts';

/** Labels every alert is aggregated by, in this order. */
export const environmentLabelNames = ['provider', 'cluster', 'region', 'environment'] as const;

/** Window of the rates behind every alert, as in the design documents' rules. */
const rateWindow = '5m';

const where =
  'provider {{ $labels.provider }}, cluster {{ $labels.cluster }}, region {{ $labels.region }}, ' +
  'environment {{ $labels.environment }}';

interface LatencySource {
  alert: string;
  what: string;
  histogram: string;
  /** Labels besides the environment ones that tell sources apart (shown in the annotation). */
  by: string[];
}

interface ErrorSource {
  alert: string;
  what: string;
  counter: string;
  by: string[];
}

const ttftSources: LatencySource[] = [
  { alert: 'HighTTFT', what: 'RAG backend (job {{ $labels.job }})', histogram: 'rag_ttft_seconds', by: ['job'] },
  {
    alert: 'LoadTestHighTTFT',
    what: 'load test client (target {{ $labels.target }}, model {{ $labels.model }})',
    histogram: 'guidellm_ttft_seconds',
    by: ['target', 'model'],
  },
  {
    alert: 'VLLMHighTTFT',
    what: 'vLLM server (model {{ $labels.model_name }})',
    histogram: 'vllm:time_to_first_token_seconds',
    by: ['model_name'],
  },
];

const errorSources: ErrorSource[] = [
  { alert: 'HighErrorRate', what: 'RAG backend (job {{ $labels.job }})', counter: 'rag_requests_total', by: ['job'] },
  {
    alert: 'LoadTestHighErrorRate',
    what: 'load test client (target {{ $labels.target }}, model {{ $labels.model }})',
    counter: 'guidellm_requests_total',
    by: ['target', 'model'],
  },
];

/** Labels a GPU is told apart by in the DCGM exporter's series. */
const gpuLabels = ['Hostname', 'gpu'];

/**
 * The rule groups for a PrometheusRule (also a valid Prometheus rules file). Pure: thresholds, `for` and extra
 * labels come from `alerts`; `alerts.enabled` is the caller's business.
 */
export function alertRuleGroups(alerts: AlertSettings): PrometheusRuleGroup[] {
  const duration = formatDuration(alerts.forSeconds);
  const ttftSeconds = alerts.ttftP95Milliseconds / 1000;
  const ttftText = formatMilliseconds(alerts.ttftP95Milliseconds);
  const labels = (severity: string) => ({ severity, ...alerts.labels });
  const rules: PrometheusRuleEntry[] = [];

  for (const source of ttftSources) {
    const by = byClause(['le', ...environmentLabelNames, ...source.by]);
    rules.push({
      alert: source.alert,
      expr: `histogram_quantile(0.95, sum ${by} (rate(${source.histogram}_bucket[${rateWindow}]))) > ${ttftSeconds}`,
      for: duration,
      labels: labels('warning'),
      annotations: {
        summary: `High TTFT p95 ({{ $value | humanizeDuration }}) on cluster {{ $labels.cluster }}`,
        description:
          `The 95th percentile time to first token of the ${source.what} on ${where} is ` +
          `{{ $value | humanizeDuration }}, above the threshold of ${ttftText} for ${duration}.`,
      },
    });
  }

  for (const source of errorSources) {
    const by = byClause([...environmentLabelNames, ...source.by]);
    const rate = (selector: string) => `sum ${by} (rate(${source.counter}${selector}[${rateWindow}]))`;
    rules.push({
      alert: source.alert,
      expr: `100 * ${rate('{status="error"}')} / ${rate('')} > ${alerts.errorRatePercent}`,
      for: duration,
      labels: labels('critical'),
      annotations: {
        summary: `Error rate above ${alerts.errorRatePercent}% ({{ $value | printf "%.1f" }}%) on cluster {{ $labels.cluster }}`,
        description:
          `{{ $value | printf "%.1f" }}% of the requests of the ${source.what} on ${where} failed, above the ` +
          `threshold of ${alerts.errorRatePercent}% for ${duration}.`,
      },
    });
  }

  const gpuBy = byClause([...environmentLabelNames, ...gpuLabels]);
  const gpuSum = (metric: string) => `sum ${gpuBy} (${metric})`;
  rules.push({
    alert: 'GPUMemoryHigh',
    expr:
      `100 * ${gpuSum('DCGM_FI_DEV_FB_USED')} / (${gpuSum('DCGM_FI_DEV_FB_USED')} + ${gpuSum('DCGM_FI_DEV_FB_FREE')})` +
      ` > ${alerts.gpuMemoryPercent}`,
    for: duration,
    labels: labels('warning'),
    annotations: {
      summary: `GPU memory utilization above ${alerts.gpuMemoryPercent}% ({{ $value | printf "%.1f" }}%) on cluster {{ $labels.cluster }}`,
      description:
        `GPU {{ $labels.gpu }} of host {{ $labels.Hostname }} on ${where} uses {{ $value | printf "%.1f" }}% of its ` +
        `framebuffer memory, above the threshold of ${alerts.gpuMemoryPercent}% for ${duration}.`,
    },
  });

  return [{ name: alertRuleGroupName, rules }];
}

function byClause(labelNames: readonly string[]): string {
  return `by (${labelNames.join(', ')})`;
}

/** A Prometheus duration for whole seconds, in the largest exact unit ("5m", "90s", "1h", "0s"). */
export function formatDuration(seconds: number): string {
  if (seconds > 0 && seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds > 0 && seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

function formatMilliseconds(milliseconds: number): string {
  return milliseconds < 1000 || milliseconds % 1000 !== 0 ? `${milliseconds}ms` : `${milliseconds / 1000}s`;
}
