/**
 * Live progress on stderr: a redrawn one-line bar on a TTY, or one plain `key=value` line every interval
 * otherwise (logs, CI, kubectl logs). Targets run together, so progress is summed over them.
 */
import type { LoadSpec, RunProgress } from '../engine/types.ts';

export type ProgressStyle = 'bar' | 'lines' | 'off';

export interface ProgressSink {
  write(text: string): unknown;
}

/** Planned length of a run in seconds, when the load says (undefined for request-count-only runs). */
export function plannedSeconds(load: LoadSpec): number | undefined {
  if (load.stages) return load.stages.reduce((s, x) => s + x.durationSeconds, 0);
  if (load.profile === 'sweep' && load.sweep) return (load.sweep.rates + 2) * load.sweep.stepSeconds;
  return load.durationSeconds;
}

export class ProgressReporter {
  private readonly latest = new Map<string, RunProgress>();
  private timer: NodeJS.Timeout | undefined;
  private drawn = false;

  private readonly style: ProgressStyle;
  private readonly out: ProgressSink;
  private readonly load: LoadSpec;
  private readonly intervalMs: number;

  constructor(style: ProgressStyle, out: ProgressSink, load: LoadSpec, intervalMs: number) {
    this.style = style;
    this.out = out;
    this.load = load;
    this.intervalMs = intervalMs;
  }

  start(): void {
    if (this.style === 'lines') {
      this.timer = setInterval(() => this.writeLine(), this.intervalMs);
      this.timer.unref();
    }
  }

  update(target: string, progress: RunProgress): void {
    this.latest.set(target, progress);
    if (this.style === 'bar') this.drawBar();
  }

  /** Stops the timer and clears the bar (so the summary table starts on a clean line). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.style === 'bar' && this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }

  /** Progress summed over targets (elapsed/phase from the furthest one). */
  total(): (RunProgress & { targets: number }) | undefined {
    let sum: (RunProgress & { targets: number }) | undefined;
    for (const p of this.latest.values()) {
      if (!sum) {
        sum = { ...p, targets: 1 };
        continue;
      }
      sum.targets++;
      sum.sent += p.sent;
      sum.completed += p.completed;
      sum.ok += p.ok;
      sum.failed += p.failed;
      sum.inFlight += p.inFlight;
      sum.late += p.late;
      if (p.elapsedSeconds > sum.elapsedSeconds) {
        sum.elapsedSeconds = p.elapsedSeconds;
        sum.phase = p.phase;
        sum.step = p.step;
        sum.stage = p.stage;
      }
    }
    return sum;
  }

  /** The text of one plain progress line (exposed for tests). */
  line(): string | undefined {
    const p = this.total();
    if (!p) return undefined;
    const planned = plannedSeconds(this.load);
    const elapsed = Math.max(0, p.elapsedSeconds);
    const parts = [
      `progress elapsed=${elapsed.toFixed(0)}s${planned ? `/${planned}s` : ''}`,
      `phase=${p.phase}`,
      ...(this.load.profile === 'sweep' ? [`step=${p.step}`] : []),
      `sent=${p.sent}`,
      `completed=${p.completed}`,
      `ok=${p.ok}`,
      `failed=${p.failed}`,
      `in_flight=${p.inFlight}`,
      `late=${p.late}`,
      `rps=${elapsed > 0 ? (p.completed / elapsed).toFixed(1) : '0.0'}`,
    ];
    return parts.join(' ');
  }

  private writeLine(): void {
    const text = this.line();
    if (text) this.out.write(`${text}\n`);
  }

  private drawBar(): void {
    const p = this.total();
    if (!p) return;
    const planned = plannedSeconds(this.load);
    const elapsed = Math.max(0, p.elapsedSeconds);
    let fraction: number | undefined;
    if (planned) fraction = elapsed / planned;
    else if (this.load.maxRequests) fraction = p.sent / this.load.maxRequests;
    const width = 24;
    const filled = fraction === undefined ? 0 : Math.round(Math.min(1, fraction) * width);
    const bar =
      fraction === undefined
        ? ''
        : `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.floor(Math.min(1, fraction) * 100)}% `;
    const text =
      `${bar}${elapsed.toFixed(0)}s${planned ? `/${planned}s` : ''} ${p.phase}` +
      ` | ok ${p.ok} err ${p.failed} in-flight ${p.inFlight} late ${p.late}`;
    this.out.write(`\r\x1b[2K${text}`);
    this.drawn = true;
  }
}
