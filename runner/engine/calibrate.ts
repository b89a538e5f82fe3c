/**
 * Prompt-length calibration without a tokenizer: two probe requests (max_tokens 1) with W₁ and W₂ random
 * words; the server's `usage.prompt_tokens` p₁, p₂ give tokensPerWord = (p₂ − p₁)/(W₂ − W₁) and
 * overhead = p₁ − tokensPerWord × W₁ (chat template, BOS). Probes are not part of the run's results.
 * If probing fails the run goes on assuming 1 token per word, and the reason is reported.
 */
import { now } from './clock.ts';
import { randomWords, typicalLength } from './data.ts';
import type { TargetClient } from './http.ts';
import { Rng, RngStream } from './random.ts';
import type { Calibration, DataSpec, RequestResult } from './types.ts';

const SMALL_PROBE_WORDS = 16;

function probe(client: TargetClient, prompt: string): Promise<RequestResult> {
  const t = now();
  const result: RequestResult = {
    index: -1,
    stage: 0,
    step: 0,
    phase: 'warmup',
    scheduledAt: t,
    sentAt: t,
    dispatchLagSeconds: 0,
    late: false,
    ok: false,
    itlSeconds: [],
    requestedOutputTokens: 1,
  };
  return new Promise((resolve) => {
    client.send(result, client.buildBody({ prompt, maxTokens: 1 }), resolve);
  });
}

export async function calibratePrompts(client: TargetClient, data: DataSpec): Promise<Calibration> {
  const rng = new Rng(data.seed, RngStream.calibration);
  const largeWords = Math.min(1024, Math.max(64, Math.round(typicalLength(data.promptTokens))));
  const small = await probe(client, randomWords(rng, SMALL_PROBE_WORDS));
  const large = small.ok ? await probe(client, randomWords(rng, largeWords)) : small;
  const off = (error: string): Calibration => ({ method: 'off', tokensPerWord: 1, overheadTokens: 0, error });
  for (const r of [small, large]) {
    if (!r.ok) return off(`calibration probe failed (${r.errorClass}): ${r.errorMessage}`);
    if (r.promptTokens === undefined) return off('calibration probe response has no usage.prompt_tokens');
  }
  const p1 = small.promptTokens as number;
  const p2 = large.promptTokens as number;
  const tokensPerWord = (p2 - p1) / (largeWords - SMALL_PROBE_WORDS);
  if (!(tokensPerWord > 0)) {
    return off(
      `calibration probes gave no usable slope (prompt_tokens ${p1} for ${SMALL_PROBE_WORDS} words, ${p2} for ${largeWords})`,
    );
  }
  const overheadTokens = Math.max(0, p1 - tokensPerWord * SMALL_PROBE_WORDS);
  return { method: 'probe', tokensPerWord, overheadTokens };
}
