import { OUTPUT_WORDS, outputText } from './tokens.ts';

/**
 * Response bytes shaped like vLLM's OpenAI server. Streaming chunks are assembled from a per-request
 * head (id, object, created, model) and precomputed per-token tails, so the hot path concatenates
 * strings instead of calling JSON.stringify for every chunk.
 */

export type Endpoint = 'chat' | 'completion';
export type FinishReason = 'length' | 'stop';

export interface Usage {
  prompt_tokens: number;
  total_tokens: number;
  completion_tokens: number;
}

export const DONE_EVENT = 'data: [DONE]\n\n';

const CHAT_TAIL = '"},"logprobs":null,"finish_reason":null}]}\n\n';
const COMPLETION_TAIL = '","logprobs":null,"finish_reason":null,"stop_reason":null}]}\n\n';
const CHAT_TOKEN_TAILS = OUTPUT_WORDS.map((word) => word + CHAT_TAIL);
const COMPLETION_TOKEN_TAILS = OUTPUT_WORDS.map((word) => word + COMPLETION_TAIL);

function finalTail(endpoint: Endpoint, reason: FinishReason): string {
  const close = endpoint === 'chat' ? '"},"logprobs":null' : '","logprobs":null';
  return `${close},"finish_reason":"${reason}","stop_reason":null}]}\n\n`;
}

function wordsBetween(from: number, to: number): string {
  let text = '';
  for (let i = from; i < to; i++) text += OUTPUT_WORDS[i % OUTPUT_WORDS.length];
  return text;
}

export function usageOf(promptTokens: number, completionTokens: number): Usage {
  return {
    prompt_tokens: promptTokens,
    total_tokens: promptTokens + completionTokens,
    completion_tokens: completionTokens,
  };
}

export class StreamRenderer {
  readonly endpoint: Endpoint;
  /** True when every byte is ASCII, so the UTF-8 length of an event equals its string length. */
  readonly ascii: boolean;
  readonly #envelope: string;
  readonly #head: string;
  readonly #tail: string;
  readonly #tokenTails: readonly string[];

  constructor(endpoint: Endpoint, id: string, created: number, model: string) {
    this.endpoint = endpoint;
    const object = endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    this.#envelope = `data: {"id":${JSON.stringify(id)},"object":"${object}","created":${created},"model":${JSON.stringify(model)},"choices":`;
    this.#head = this.#envelope + (endpoint === 'chat' ? '[{"index":0,"delta":{"content":"' : '[{"index":0,"text":"');
    this.#tail = endpoint === 'chat' ? CHAT_TAIL : COMPLETION_TAIL;
    this.#tokenTails = endpoint === 'chat' ? CHAT_TOKEN_TAILS : COMPLETION_TOKEN_TAILS;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: checking for non-ASCII bytes
    this.ascii = /^[\x00-\x7f]*$/.test(this.#envelope);
  }

  /** vLLM's first chat chunk: the assistant role with empty content. Completions have none. */
  roleEvent(): string {
    if (this.endpoint !== 'chat') return '';
    return `${this.#envelope}[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`;
  }

  /** One chunk carrying tokens [from, to); the chunk with the last token carries the finish reason. */
  contentEvent(from: number, to: number, finishReason: FinishReason | null): string {
    if (finishReason !== null) return this.#head + wordsBetween(from, to) + finalTail(this.endpoint, finishReason);
    if (to === from + 1) return this.#head + this.#tokenTails[from % this.#tokenTails.length];
    return this.#head + wordsBetween(from, to) + this.#tail;
  }

  /** The usage-only chunk sent when stream_options.include_usage is true. */
  usageEvent(promptTokens: number, completionTokens: number): string {
    return `${this.#envelope}[],"usage":${JSON.stringify(usageOf(promptTokens, completionTokens))}}\n\n`;
  }

  /** An SSE event whose JSON is cut off in the middle. */
  malformedJsonEvent(): string {
    return `${this.#head}\n\n`;
  }

  /** A line that is not an SSE field vLLM would send (no `data:`), followed by the event separator. */
  malformedSseEvent(): string {
    return '{"malformed": "this line is not server-sent events"}\n\n';
  }
}

export function completionBody(
  endpoint: Endpoint,
  id: string,
  created: number,
  model: string,
  promptTokens: number,
  completionTokens: number,
  finishReason: FinishReason,
): string {
  const text = outputText(completionTokens);
  const usage = usageOf(promptTokens, completionTokens);
  if (endpoint === 'chat') {
    return JSON.stringify({
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: text, tool_calls: [] },
          logprobs: null,
          finish_reason: finishReason,
          stop_reason: null,
        },
      ],
      usage,
      prompt_logprobs: null,
    });
  }
  return JSON.stringify({
    id,
    object: 'text_completion',
    created,
    model,
    choices: [
      { index: 0, text, logprobs: null, finish_reason: finishReason, stop_reason: null, prompt_logprobs: null },
    ],
    usage,
  });
}

/** vLLM's error body: {"object":"error","message":...,"type":...,"param":null,"code":...}. */
export function errorBody(message: string, type: string, code: number): string {
  return JSON.stringify({ object: 'error', message, type, param: null, code });
}
