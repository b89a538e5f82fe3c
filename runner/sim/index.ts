/**
 * `loadlm sim`: an OpenAI-compatible vLLM simulator, the ground truth for the runner's accuracy tests.
 *
 * Endpoints: POST /v1/chat/completions and /v1/completions (streaming and not), GET /v1/models,
 * /metrics (vLLM's names, label model_name), /health, /ping, /version.
 *
 * Timing contract (see options.ts for the knobs, engine.ts for the state machine):
 *   - a request arrives at t_a; if fewer than maxNumSeqs run it starts at once, else it waits FIFO;
 *   - streaming: headers and the chat role chunk (`delta: {role: assistant, content: ""}`) go out as
 *     soon as the request is accepted, before any queueing, so a client that times the first chunk
 *     instead of the first content gets TTFT wrong;
 *   - the first content token is due at start + ttftMs (+- ttftJitterMs) + promptTokens *
 *     prefillMicrosPerToken / 1000; token i at token i-1 + itlMs (+- itlJitterMs);
 *   - deadlines are absolute and never sent early; sends are late by the tick rounding (tickMs, 1 ms)
 *     plus timer and event-loop latency, typically 1-2 ms on an idle machine. A late tick sends all
 *     due chunks at once and does not shift later deadlines, so the mean ITL over a request is exact;
 *   - the last content chunk carries finish_reason; then the usage chunk (stream_options.include_usage)
 *     and `data: [DONE]`. Non-streaming responses are sent when the last token is due.
 *
 * Output length: exactly max_tokens (or max_completion_tokens) with ignore_eos; otherwise a seeded EOS
 * position in [eosMinTokens, eosMaxTokens] (at least min_tokens) if it comes first (finish_reason
 * "stop"). Prompt tokens: see tokens.ts (ceil(chars / 4) plus BOS and per-message template tokens).
 * Faults: see faults.ts (options `faults` and the `x-sim-fault` request header).
 */
import { startClusterSimulator } from './cluster.ts';
import { parseSimOptions, type SimOptionsInput } from './options.ts';
import { type SimulatorHandle, startLocalSimulator } from './server.ts';

export type { Fault, FaultRule } from './faults.ts';
export { parseFault, parseFaultRule } from './faults.ts';
export type { SimOptionDescription, SimOptions, SimOptionsInput } from './options.ts';
export { describeSimOptions, parseSimOptions, SimOptionsError, simOptionsSchema } from './options.ts';
export type { CloseOptions, SimulatorHandle } from './server.ts';
export type { LatenessSummary, SimStats } from './stats.ts';
export { chatPromptTokens, completionPromptTokens } from './tokens.ts';

/** Validates the options (throws SimOptionsError naming the field) and starts listening. */
export async function startSimulator(input: SimOptionsInput = {}): Promise<SimulatorHandle> {
  const options = parseSimOptions(input);
  if (options.workers > 1) return startClusterSimulator(options);
  return startLocalSimulator(options, { workerIndex: 0, workerCount: 1, processMetrics: true });
}
