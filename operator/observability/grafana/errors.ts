import type { GrafanaApiErrorReason } from './types.ts';

/**
 * A Grafana API call failed. `reason` is meant for a status condition; the message names Grafana's URL, the call
 * and the HTTP status, and never a credential or secret.
 */
export class GrafanaApiError extends Error {
  readonly reason: GrafanaApiErrorReason;
  readonly status: number | undefined;

  constructor(reason: GrafanaApiErrorReason, message: string, status?: number) {
    super(message);
    this.name = 'GrafanaApiError';
    this.reason = reason;
    this.status = status;
  }
}

export function isGrafanaApiError(error: unknown): error is GrafanaApiError {
  return error instanceof GrafanaApiError;
}
