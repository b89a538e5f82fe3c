/**
 * Request data: synthetic prompts of a requested token length, or rows of a JSONL dataset.
 *
 * Synthetic prompts are random words from a list of common single-token words. No tokenizer can be
 * downloaded, so the words-per-token ratio is calibrated against the server itself (calibrate.ts fits
 * `usage.prompt_tokens = overhead + tokensPerWord × words`); a prompt of P tokens then gets
 * round((P − overhead) / tokensPerWord) words. The achieved accuracy is measured over the run from every
 * response's `usage.prompt_tokens` and reported (RunOutcome.promptTokenError).
 *
 * Everything a request carries is derived from (seed, global request index) alone, so the same seed gives
 * the same request sequence whatever the timing, concurrency or split across runners.
 */
import { readFileSync } from 'node:fs';
import { sampleLength, validateDistribution } from './distributions.ts';
import type { ChatMessage, RequestInput } from './http.ts';
import { Rng, RngStream, rngForRequest } from './random.ts';
import type { Calibration, DataSpec, LengthDistribution } from './types.ts';
import { WORDS } from './words.ts';

export interface GeneratedRequest extends RequestInput {
  /** Prompt tokens aimed at (synthetic prompts only). */
  requestedPromptTokens?: number;
}

interface DatasetRow {
  prompt?: string;
  messages?: ChatMessage[];
  outputTokens?: number;
}

/** `count` random words from the list, each preceded by a space except the first. */
export function randomWords(rng: Rng, count: number): string {
  if (count <= 0) return '';
  const parts = new Array<string>(count);
  for (let i = 0; i < count; i++) parts[i] = WORDS[rng.nextUint32() % WORDS.length] as string;
  return parts.join(' ');
}

/** Words needed for `tokens` tokens under a calibration (at least 1). */
export function wordsForTokens(tokens: number, tokensPerWord: number): number {
  return Math.max(1, Math.round(tokens / tokensPerWord));
}

export function validateData(d: DataSpec): void {
  validateDistribution('data.promptTokens', d.promptTokens);
  validateDistribution('data.outputTokens', d.outputTokens);
  if (!Number.isInteger(d.sharedPrefixTokens) || d.sharedPrefixTokens < 0) {
    throw new Error(`data.sharedPrefixTokens: expected an integer ≥ 0, got ${d.sharedPrefixTokens}`);
  }
  if (!Number.isFinite(d.seed)) throw new Error(`data.seed: expected a finite number, got ${d.seed}`);
  if (d.calibration !== undefined && d.calibration !== 'probe' && d.calibration !== 'off') {
    throw new Error(`data.calibration: expected "probe" or "off", got ${JSON.stringify(d.calibration)}`);
  }
}

function isMessages(v: unknown): v is ChatMessage[] {
  return (
    Array.isArray(v) &&
    v.length > 0 &&
    v.every((m) => m && typeof m === 'object' && typeof m.role === 'string' && typeof m.content === 'string')
  );
}

/** Parses a JSONL dataset; errors name the file and line. */
export function parseDataset(text: string, source: string): DatasetRow[] {
  const rows: DatasetRow[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    const where = `data.dataset ${source}:${i + 1}`;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (err) {
      throw new Error(`${where}: invalid JSON (${(err as Error).message})`);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
      throw new Error(`${where}: expected a JSON object`);
    const o = obj as Record<string, unknown>;
    const row: DatasetRow = {};
    if (typeof o.prompt === 'string') row.prompt = o.prompt;
    else if (isMessages(o.messages)) row.messages = o.messages.map((m) => ({ role: m.role, content: m.content }));
    else throw new Error(`${where}: expected "prompt" (string) or "messages" ([{role, content}, ...])`);
    if (o.output_tokens !== undefined) {
      if (!Number.isInteger(o.output_tokens) || (o.output_tokens as number) < 1) {
        throw new Error(`${where}: "output_tokens" must be an integer ≥ 1`);
      }
      row.outputTokens = o.output_tokens as number;
    }
    rows.push(row);
  }
  if (rows.length === 0) throw new Error(`data.dataset ${source}: no rows`);
  return rows;
}

export class RequestFactory {
  private readonly spec: DataSpec;
  private readonly rows: DatasetRow[] | undefined;
  private calibration: Calibration = { method: 'off', tokensPerWord: 1, overheadTokens: 0 };
  private prefix = '';
  private prefixWords = 0;

  constructor(spec: DataSpec, rows?: DatasetRow[]) {
    validateData(spec);
    this.spec = spec;
    this.rows = rows ?? (spec.dataset !== undefined ? loadDataset(spec.dataset) : undefined);
    this.setCalibration(this.calibration);
  }

  get usesDataset(): boolean {
    return this.rows !== undefined;
  }

  get currentCalibration(): Calibration {
    return this.calibration;
  }

  setCalibration(c: Calibration): void {
    this.calibration = c;
    const s = this.spec.sharedPrefixTokens;
    this.prefixWords = s > 0 ? wordsForTokens(s, c.tokensPerWord) : 0;
    this.prefix = randomWords(new Rng(this.spec.seed, RngStream.prefix), this.prefixWords);
  }

  /** The request for global index `index` (deterministic in seed and index). */
  make(index: number): GeneratedRequest {
    const rng = rngForRequest(this.spec.seed, index);
    if (this.rows) {
      const row = this.rows[index % this.rows.length] as DatasetRow;
      const maxTokens = row.outputTokens ?? sampleLength(this.spec.outputTokens, rng);
      const req: GeneratedRequest = { maxTokens };
      if (row.prompt !== undefined) req.prompt = row.prompt;
      if (row.messages !== undefined) req.messages = row.messages;
      return req;
    }
    const promptTokens = sampleLength(this.spec.promptTokens, rng);
    const maxTokens = sampleLength(this.spec.outputTokens, rng);
    const { tokensPerWord, overheadTokens } = this.calibration;
    const totalWords = wordsForTokens(promptTokens - overheadTokens, tokensPerWord);
    const ownWords = Math.max(1, totalWords - this.prefixWords);
    const own = randomWords(rng, ownWords);
    const prompt = this.prefixWords > 0 ? `${this.prefix} ${own}` : own;
    return { prompt, maxTokens, requestedPromptTokens: promptTokens };
  }
}

export function loadDataset(path: string): DatasetRow[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`data.dataset: cannot read ${path}: ${(err as Error).message}`);
  }
  return parseDataset(text, path);
}

/** Mean of a length distribution (for sizing calibration probes). */
export function typicalLength(d: LengthDistribution): number {
  switch (d.kind) {
    case 'fixed':
      return d.value;
    case 'uniform':
      return (d.min + d.max) / 2;
    case 'normal':
      return Math.min(d.max, Math.max(d.min, d.mean));
  }
}
