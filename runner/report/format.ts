/** Number formatting shared by the summary table, SLO messages and CSV. */

/** Milliseconds with 3 significant-ish digits: `0.42ms`, `12.3ms`, `512ms`, `1.52s`, `2m05s`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms >= 120_000) {
    const minutes = Math.floor(ms / 60_000);
    const seconds = Math.round((ms - minutes * 60_000) / 1000);
    return `${minutes}m${String(seconds).padStart(2, '0')}s`;
  }
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10_000 ? 1 : 2)}s`;
  if (ms >= 100) return `${ms.toFixed(0)}ms`;
  if (ms >= 10) return `${ms.toFixed(1)}ms`;
  return `${ms.toFixed(2)}ms`;
}

/** Seconds → formatMs. */
export function formatSeconds(seconds: number): string {
  return formatMs(seconds * 1000);
}

export function formatNumber(v: number, digits = 2): string {
  if (!Number.isFinite(v)) return '-';
  return v.toFixed(digits);
}

export function formatInt(v: number): string {
  return Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-';
}

/** JSON.stringify replacer: NaN/±Infinity (unmeasured statistics) become null. */
export function finiteOrNull(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}
