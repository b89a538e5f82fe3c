import { createRandom, type Random } from './random.ts';

/**
 * Faults the simulator can inject. `afterTokens` counts content tokens the client receives first.
 *
 * Text form (used by `--faults` (repeatable), the `x-sim-fault` request header and `faults: [...]` strings):
 *   status=503              reply with that HTTP status and an OpenAI-style error body
 *   status=429,retry-after=2  429 with `Retry-After: 2` (default 1 s)
 *   reset-after=5           send 5 content tokens, then reset the TCP connection (RST)
 *   stall-after=5           send 5 content tokens, then send nothing more but keep the connection open
 *   no-headers              read the request and never answer (the client hits its headers timeout)
 *   malformed-json-after=3  after 3 content tokens insert an SSE event whose JSON is truncated
 *   malformed-sse-after=3   after 3 content tokens insert a line that is not SSE (`{"malformed": ...}` without `data:`)
 * A rule adds a selector: `reset-after=5@every=10` (the 10th, 20th, ... request) or `status=503@p=0.02`
 * (seeded probability). Without a selector the fault hits every request. Rules count only requests
 * that passed validation and carry no x-sim-fault header; the header forces its fault on that one
 * request (when faultHeader is on, the default). With several workers each worker counts its own.
 */
export type Fault =
  | { kind: 'status'; status: number; retryAfterSeconds: number }
  | { kind: 'reset'; afterTokens: number }
  | { kind: 'stall'; afterTokens: number }
  | { kind: 'no-headers' }
  | { kind: 'malformed-json'; afterTokens: number }
  | { kind: 'malformed-sse'; afterTokens: number };

export type FaultKind = Fault['kind'];

export interface FaultRule {
  fault: Fault;
  /** Hit requests number every, 2*every, ... (1-based, counted per simulator process). */
  every?: number | undefined;
  /** Hit each request with this probability, drawn from the seeded fault stream. */
  probability?: number | undefined;
}

const TOKEN_FAULTS = {
  'reset-after': 'reset',
  'stall-after': 'stall',
  'malformed-json-after': 'malformed-json',
  'malformed-sse-after': 'malformed-sse',
} as const;

function parseNonNegativeInt(text: string | undefined, what: string): number {
  if (text === undefined || !/^\d+$/.test(text))
    throw new Error(`${what} must be a non-negative integer, got "${text ?? ''}"`);
  return Number(text);
}

/** Parses one fault (no selector), e.g. `reset-after=5` or `status=429,retry-after=2`. */
export function parseFault(text: string): Fault {
  const parts = text
    .trim()
    .split(',')
    .map((part) => part.trim());
  const [head = '', ...rest] = parts;
  const [key = '', value] = head.split('=', 2).map((s) => s.trim());
  const options = new Map<string, string>();
  for (const part of rest) {
    const [k = '', v = ''] = part.split('=', 2).map((s) => s.trim());
    options.set(k, v);
  }
  const rejectExtra = (allowed: string[]) => {
    for (const k of options.keys()) {
      if (!allowed.includes(k)) throw new Error(`unknown option "${k}" for fault "${key}"`);
    }
  };
  if (key === 'status') {
    const status = parseNonNegativeInt(value, 'status');
    if (status < 400 || status > 599) throw new Error(`status must be an HTTP error status 400..599, got ${status}`);
    rejectExtra(['retry-after']);
    const retryAfter = options.get('retry-after');
    const retryAfterSeconds = retryAfter === undefined ? 1 : parseNonNegativeInt(retryAfter, 'retry-after');
    return { kind: 'status', status, retryAfterSeconds };
  }
  if (key === 'no-headers') {
    if (value !== undefined) throw new Error('no-headers takes no value');
    rejectExtra([]);
    return { kind: 'no-headers' };
  }
  if (key in TOKEN_FAULTS) {
    rejectExtra([]);
    const kind = TOKEN_FAULTS[key as keyof typeof TOKEN_FAULTS];
    return { kind, afterTokens: parseNonNegativeInt(value, key) };
  }
  throw new Error(
    `unknown fault "${text}"; expected one of status=<400..599>[,retry-after=<s>], reset-after=<k>, stall-after=<k>, no-headers, malformed-json-after=<k>, malformed-sse-after=<k>`,
  );
}

/** Parses a rule: a fault with an optional `@every=N` or `@p=0.01` selector. */
export function parseFaultRule(text: string): FaultRule {
  const at = text.indexOf('@');
  const fault = parseFault(at === -1 ? text : text.slice(0, at));
  if (at === -1) return { fault };
  const [key = '', value = ''] = text
    .slice(at + 1)
    .split('=', 2)
    .map((s) => s.trim());
  if (key === 'every') {
    const every = parseNonNegativeInt(value, 'every');
    if (every < 1) throw new Error('every must be >= 1');
    return { fault, every };
  }
  if (key === 'p') {
    const probability = Number(value);
    if (value === '' || !Number.isFinite(probability) || probability < 0 || probability > 1) {
      throw new Error(`p must be a probability in [0, 1], got "${value}"`);
    }
    return { fault, probability };
  }
  throw new Error(`unknown fault selector "@${key}"; expected @every=<n> or @p=<probability>`);
}

/** Chooses the fault (if any) for each request: rules are checked in order and the first hit wins. */
export class FaultPicker {
  readonly #rules: readonly FaultRule[];
  readonly #random: Random;
  #requests = 0;

  constructor(rules: readonly FaultRule[], seed: number) {
    this.#rules = rules;
    this.#random = createRandom(seed, 2);
  }

  next(): Fault | undefined {
    this.#requests += 1;
    for (const rule of this.#rules) {
      if (rule.every !== undefined) {
        if (this.#requests % rule.every === 0) return rule.fault;
      } else if (rule.probability !== undefined) {
        if (this.#random() < rule.probability) return rule.fault;
      } else {
        return rule.fault;
      }
    }
    return undefined;
  }
}
