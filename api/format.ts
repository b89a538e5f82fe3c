/**
 * How numbers are written into status (which has no floats): display strings for `kubectl get` next to exact
 * integers. The operator uses these so every LoadTest reads the same.
 */

/**
 * A duration in microseconds as a short string with unit: `850µs`, `123.4ms`, `1.52s`, `75.3s`.
 * Three significant digits are enough to read; the exact value sits next to it as an integer.
 */
export function formatMicroseconds(micros: number): string {
  if (!Number.isFinite(micros) || micros < 0) throw new RangeError(`expected a duration ≥ 0, got ${micros}`);
  // Thresholds sit where rounding would carry into the next unit (999.6µs is "1ms", not "1000µs").
  if (micros < 999.5) return `${Math.round(micros)}µs`;
  const millis = micros / 1000;
  if (millis < 99.95) return `${trim(millis.toFixed(1))}ms`;
  if (millis < 999.5) return `${millis.toFixed(0)}ms`;
  const secondsValue = micros / 1_000_000;
  return `${trim(secondsValue.toFixed(secondsValue < 9.995 ? 2 : 1))}s`;
}

/** A rate or other measured quantity as a decimal string (`12.35`, `1234.5`, `0.125`). */
export function formatDecimal(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`expected a finite number, got ${value}`);
  const digits = Math.abs(value) >= 1000 ? 1 : Math.abs(value) >= 1 ? 2 : 3;
  return trim(value.toFixed(digits));
}

/** A ratio in [0, 1] as a percentage string (`42%`, `0.5%`, `99.95%`). */
export function formatPercent(ratio: number): string {
  if (!Number.isFinite(ratio)) throw new RangeError(`expected a finite ratio, got ${ratio}`);
  const percentValue = ratio * 100;
  // Just below 100 is truncated, not rounded: 99.996% of requests within SLO must not read "100%".
  if (percentValue > 99 && percentValue < 100)
    return `${trim((Math.floor(percentValue * 100 + 1e-6) / 100).toFixed(2))}%`;
  const digits = percentValue === 0 || percentValue >= 10 ? 1 : 2;
  return `${trim(percentValue.toFixed(digits))}%`;
}

function trim(fixed: string): string {
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}
