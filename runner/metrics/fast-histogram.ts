/**
 * A prom-client Histogram whose series are plain typed arrays behind a pre-bound handle.
 *
 * prom-client's own `observe` validates and hashes the label set on every call (~0.7 µs measured with seven
 * labels). The runner observes every inter-token gap — 128 k values/s at 1,000 req/s × 128 tokens — so that
 * cost would eat a tenth of the load generator's core. Here a series is bound once per label set and
 * `observe` is a binary search plus two additions. Exposition goes through the normal Registry path
 * (`get`/`getForPromString` return prom-client's format), so scraping, Pushgateway and default labels work
 * unchanged.
 */
import { Histogram, type Registry } from 'prom-client';

export interface HistogramSeries {
  observe(value: number): void;
}

interface SeriesState {
  labels: Record<string, string>;
  /** Non-cumulative counts per finite bucket; values above the last bound only count in `count`. */
  counts: Float64Array;
  sum: number;
  count: number;
}

type ExportValue = { labels: Record<string, string | number>; value: number; metricName: string };

export class FastHistogram extends Histogram<string> {
  private readonly bounds: Float64Array;
  private readonly series = new Map<string, SeriesState>();
  private readonly labelNameList: readonly string[];
  private readonly metricName: string;
  private readonly helpText: string;

  constructor(options: {
    name: string;
    help: string;
    labelNames: readonly string[];
    buckets: number[];
    registry: Registry;
  }) {
    super({
      name: options.name,
      help: options.help,
      labelNames: [...options.labelNames],
      buckets: options.buckets,
      registers: [options.registry],
    });
    this.bounds = Float64Array.from([...options.buckets].sort((a, b) => a - b));
    this.labelNameList = options.labelNames;
    this.metricName = options.name;
    this.helpText = options.help;
  }

  /** The series for one label set (created on first use, kept until `removeSeries`). */
  bind(labels: Record<string, string>): HistogramSeries {
    const key = this.labelNameList.map((n) => labels[n] ?? '').join('\u0000');
    let state = this.series.get(key);
    if (!state) {
      const own: Record<string, string> = {};
      for (const n of this.labelNameList) own[n] = labels[n] ?? '';
      state = { labels: own, counts: new Float64Array(this.bounds.length), sum: 0, count: 0 };
      this.series.set(key, state);
    }
    const s = state;
    const bounds = this.bounds;
    return {
      observe(value: number): void {
        if (!Number.isFinite(value)) return;
        // First bound ≥ value (Prometheus buckets are `le`, upper-inclusive).
        let lo = 0;
        let hi = bounds.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if ((bounds[mid] as number) < value) lo = mid + 1;
          else hi = mid;
        }
        if (lo < bounds.length) s.counts[lo] = (s.counts[lo] as number) + 1;
        s.sum += value;
        s.count += 1;
      },
    };
  }

  override reset(): void {
    // The base constructor calls reset() before this class's fields exist.
    (this.series as Map<string, SeriesState> | undefined)?.clear();
  }

  override async get(): Promise<Awaited<ReturnType<Histogram<string>['get']>>> {
    return this.export() as unknown as Awaited<ReturnType<Histogram<string>['get']>>;
  }

  /** The Registry prefers this over `get` when rendering text; labels are already merged here. */
  async getForPromString(): Promise<ReturnType<FastHistogram['export']>> {
    return this.export();
  }

  private export(): { name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: ExportValue[] } {
    const values: ExportValue[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += s.counts[i] as number;
        // `le` first, then the series labels: the same text prom-client's Histogram renders.
        values.push({
          labels: { le: this.bounds[i] as number, ...s.labels },
          value: cumulative,
          metricName: `${this.metricName}_bucket`,
        });
      }
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${this.metricName}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.metricName}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.metricName}_count` });
    }
    return { name: this.metricName, help: this.helpText, type: 'histogram', aggregator: 'sum', values };
  }
}
