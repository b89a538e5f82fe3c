import type { SimOptions } from './options.ts';
import type { SimStats } from './stats.ts';

/** IPC between the cluster primary (the process that called startSimulator) and its workers. */
export const WORKER_SPEC_ENV = 'LOADLM_SIM_WORKER';

export interface WorkerSpec {
  options: SimOptions;
  index: number;
  count: number;
}

export type WorkerMessage =
  | { type: 'loadlm-sim:listening'; port: number }
  | { type: 'loadlm-sim:failed'; message: string }
  | { type: 'loadlm-sim:stats'; stats: SimStats }
  | { type: 'loadlm-sim:metrics-request'; id: number };

export type PrimaryMessage =
  | { type: 'loadlm-sim:metrics-response'; id: number; contentType: string; text: string; error?: string }
  | { type: 'loadlm-sim:close'; graceMs: number };

export function isMessage<T extends { type: string }>(value: unknown): value is T {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { type?: unknown }).type === 'string' &&
    (value as { type: string }).type.startsWith('loadlm-sim:')
  );
}
