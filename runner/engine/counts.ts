import type { RequestCounts, RequestResult } from './types.ts';

export function emptyCounts(): RequestCounts {
  return {
    sent: 0,
    completed: 0,
    ok: 0,
    failed: 0,
    late: 0,
    errors: { connect: 0, timeout: 0, http: 0, broken_stream: 0, bad_payload: 0, cancelled: 0 },
    byStatus: {},
  };
}

/** Adds a finished request to completion counters (sent/late are counted at dispatch). */
export function countResult(c: RequestCounts, r: RequestResult): void {
  c.completed++;
  if (r.ok) c.ok++;
  else {
    c.failed++;
    if (r.errorClass) c.errors[r.errorClass]++;
  }
  if (r.httpStatus !== undefined) {
    const k = String(r.httpStatus);
    c.byStatus[k] = (c.byStatus[k] ?? 0) + 1;
  }
}
