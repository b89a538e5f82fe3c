/** Kubernetes resource quantities, shared by the operator (limits, OOM messages) and the test pod executor. */

const suffixes: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity as a number (`500m` → 0.5, `1Gi` → 1073741824, `1e3` → 1000); NaN if malformed. */
export function parseQuantity(quantity: string | number): number {
  if (typeof quantity === 'number') return quantity;
  const match = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|([numkMGTPE]i?|))$/.exec(quantity.trim());
  if (!match) return Number.NaN;
  const [, number = '', exponent, suffix = ''] = match;
  if (exponent !== undefined) return Number(number + exponent);
  const factor = suffixes[suffix];
  return factor === undefined ? Number.NaN : Number(number) * factor;
}
