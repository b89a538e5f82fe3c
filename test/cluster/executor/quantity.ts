import { parseQuantity as parseOrNaN } from '../../../api/quantity.ts';

/** Kubernetes resource quantities (`128Mi`, `1.5G`, `500m`, `2e3`) as numbers; throws on a malformed one. */
export function parseQuantity(quantity: string | number): number {
  const value = parseOrNaN(quantity);
  if (Number.isNaN(value)) {
    throw new Error(`invalid resource quantity "${quantity}": expected e.g. 128Mi, 1G, 500m or 2e3`);
  }
  return value;
}
