/**
 * Deterministic stand-in for a tokenizer (no tokenizer can be downloaded). The rule, which the runner
 * relies on when it calibrates prompt lengths from usage.prompt_tokens:
 *   - text costs ceil(characters / 4) tokens (characters = UTF-16 code units), the usual ~4 chars/token;
 *   - completions: 1 (BOS) + text tokens of the prompt; a prompt of token ids costs its length exactly;
 *   - chat: 1 (BOS) + for each message 4 (role markers of the chat template) + text tokens of its content.
 * It is monotonic: adding characters never lowers the count.
 */
export const CHARS_PER_TOKEN = 4;
export const BOS_TOKENS = 1;
export const MESSAGE_OVERHEAD_TOKENS = 4;

export function textTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

export function completionPromptTokens(prompt: string | readonly number[]): number {
  if (typeof prompt === 'string') return BOS_TOKENS + textTokens(prompt);
  return prompt.length;
}

/** Characters of text per message; image or audio parts are not counted. */
export function chatPromptTokens(messageTextLengths: readonly number[]): number {
  let tokens = BOS_TOKENS;
  for (const length of messageTextLengths) tokens += MESSAGE_OVERHEAD_TOKENS + Math.ceil(length / CHARS_PER_TOKEN);
  return tokens;
}

/** Output vocabulary: token i of a completion is OUTPUT_WORDS[i % length]. ASCII without JSON escapes. */
export const OUTPUT_WORDS: readonly string[] = [
  ' The',
  ' quick',
  ' brown',
  ' fox',
  ' jumps',
  ' over',
  ' the',
  ' lazy',
  ' dog',
  ' while',
  ' a',
  ' curious',
  ' cat',
  ' watches',
  ' from',
  ' its',
  ' warm',
  ' window',
  ',',
  ' and',
  ' then',
  ' both',
  ' rest',
  ' under',
  ' an',
  ' old',
  ' oak',
  ' tree',
  ' until',
  ' evening',
  ' comes',
  '.',
];

export function outputText(tokens: number): string {
  let text = '';
  for (let i = 0; i < tokens; i++) text += OUTPUT_WORDS[i % OUTPUT_WORDS.length];
  return text;
}
