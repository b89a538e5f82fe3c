import { z } from 'zod';
import { formatIssues } from './options.ts';
import type { Endpoint } from './render.ts';
import { chatPromptTokens, completionPromptTokens } from './tokens.ts';

/** What the simulator needs from a /v1/chat/completions or /v1/completions body. */
export interface InferenceRequest {
  endpoint: Endpoint;
  model: string;
  stream: boolean;
  includeUsage: boolean;
  promptTokens: number;
  /** max_tokens (or max_completion_tokens); undefined means "up to the context length". */
  maxTokens: number | undefined;
  minTokens: number;
  ignoreEos: boolean;
}

const positiveInt = z.number().int().min(1);
const optionalMaxTokens = positiveInt.nullish();

const common = {
  model: z.string({ error: 'expected the model name as a string' }).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: optionalMaxTokens,
  min_tokens: z.number().int().min(0).nullish(),
  ignore_eos: z.boolean().nullish(),
  n: z.literal(1, { error: 'the simulator supports only n = 1' }).nullish(),
};

const textPart = z.looseObject({ type: z.literal('text'), text: z.string() });
const otherPart = z.looseObject({ type: z.string() });

const chatSchema = z.looseObject({
  ...common,
  max_completion_tokens: optionalMaxTokens,
  messages: z
    .array(
      z.looseObject({
        role: z.string({ error: 'expected a role string' }),
        content: z.union([z.string(), z.array(z.union([textPart, otherPart])), z.null()]).optional(),
      }),
      { error: 'expected an array of messages' },
    )
    .min(1, { error: 'expected at least one message' }),
});

const tokenIds = z.array(z.number().int().min(0)).min(1);
const completionSchema = z.looseObject({
  ...common,
  prompt: z.union([z.string(), tokenIds, z.tuple([z.string()]), z.tuple([tokenIds])], {
    error: 'expected a string or an array of token ids (batched prompts are not supported by the simulator)',
  }),
});

export class BadRequest extends Error {
  override name = 'BadRequest';
}

function contentLength(content: unknown): number {
  if (typeof content === 'string') return content.length;
  if (!Array.isArray(content)) return 0;
  let length = 0;
  for (const part of content as Array<{ type: string; text?: unknown }>) {
    if (part.type === 'text' && typeof part.text === 'string') length += part.text.length;
  }
  return length;
}

/** Validates a parsed JSON body; throws BadRequest naming the field on bad input. */
export function parseInferenceRequest(endpoint: Endpoint, body: unknown): InferenceRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequest('request body must be a JSON object');
  }
  if (endpoint === 'chat') {
    const result = chatSchema.safeParse(body);
    if (!result.success) throw new BadRequest(formatIssues(result.error).join('; '));
    const data = result.data;
    return {
      endpoint,
      model: data.model,
      stream: data.stream === true,
      includeUsage: data.stream_options?.include_usage === true,
      promptTokens: chatPromptTokens(data.messages.map((message) => contentLength(message.content))),
      maxTokens: data.max_completion_tokens ?? data.max_tokens ?? undefined,
      minTokens: data.min_tokens ?? 0,
      ignoreEos: data.ignore_eos === true,
    };
  }
  const result = completionSchema.safeParse(body);
  if (!result.success) throw new BadRequest(formatIssues(result.error).join('; '));
  const data = result.data;
  const prompt =
    Array.isArray(data.prompt) && data.prompt.length === 1 && typeof data.prompt[0] !== 'number'
      ? (data.prompt[0] as string | number[])
      : (data.prompt as string | number[]);
  return {
    endpoint,
    model: data.model,
    stream: data.stream === true,
    includeUsage: data.stream_options?.include_usage === true,
    promptTokens: completionPromptTokens(prompt),
    maxTokens: data.max_tokens ?? undefined,
    minTokens: data.min_tokens ?? 0,
    ignoreEos: data.ignore_eos === true,
  };
}
