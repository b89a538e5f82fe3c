import { jittered, type Random } from './random.ts';

export interface TimingConfig {
  ttftMs: number;
  ttftJitterMs: number;
  prefillMicrosPerToken: number;
  itlMs: number;
  itlJitterMs: number;
}

/**
 * The simulated engine's clock. A request that starts running at t has its first token at
 * t + prefillMs(promptTokens); token i (i >= 1) follows token i - 1 after decodeStepMs(). Both are
 * absolute deadlines, so late timer ticks never accumulate into drift.
 */
export class TimingModel {
  readonly #config: TimingConfig;
  readonly #random: Random;

  constructor(config: TimingConfig, random: Random) {
    this.#config = config;
    this.#random = random;
  }

  /** Time from start of running to the first token: jittered TTFT plus prompt-length prefill. */
  prefillMs(promptTokens: number): number {
    const { ttftMs, ttftJitterMs, prefillMicrosPerToken } = this.#config;
    return jittered(this.#random, ttftMs, ttftJitterMs) + (promptTokens * prefillMicrosPerToken) / 1000;
  }

  /** One decode step (the gap between consecutive tokens). */
  decodeStepMs(): number {
    return jittered(this.#random, this.#config.itlMs, this.#config.itlJitterMs);
  }
}

/**
 * Tokens carried by streamed chunk `index` (0-based): the first chunk carries one token (sent at TTFT,
 * as vLLM sends the first token at once), each later chunk up to `tokensPerChunk`.
 */
export function chunkEnd(sentTokens: number, totalTokens: number, tokensPerChunk: number): number {
  if (sentTokens === 0) return Math.min(1, totalTokens);
  return Math.min(sentTokens + tokensPerChunk, totalTokens);
}
