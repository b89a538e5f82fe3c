import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CHARS_PER_TOKEN,
  chatPromptTokens,
  completionPromptTokens,
  OUTPUT_WORDS,
  outputText,
  textTokens,
} from '../../../runner/sim/tokens.ts';

describe('prompt token approximation', () => {
  it('counts ceil(chars / 4) text tokens', () => {
    assert.equal(CHARS_PER_TOKEN, 4);
    assert.equal(textTokens(''), 0);
    assert.equal(textTokens('a'), 1);
    assert.equal(textTokens('abcd'), 1);
    assert.equal(textTokens('abcde'), 2);
    assert.equal(textTokens('x'.repeat(4000)), 1000);
  });

  it('adds one BOS token to a completion prompt and counts token-id prompts exactly', () => {
    assert.equal(completionPromptTokens('hello world'), 1 + 3);
    assert.equal(completionPromptTokens([1, 2, 3, 4, 5]), 5);
  });

  it('adds BOS plus four template tokens per chat message', () => {
    assert.equal(chatPromptTokens([11]), 1 + 4 + 3);
    assert.equal(chatPromptTokens([0, 8]), 1 + 4 + 0 + 4 + 2);
  });

  it('never decreases when a prompt grows', () => {
    let previousCompletion = 0;
    let previousChat = 0;
    for (let length = 0; length <= 2000; length++) {
      const completion = completionPromptTokens('y'.repeat(length));
      const chat = chatPromptTokens([length]);
      assert.ok(completion >= previousCompletion, `completion tokens dropped at ${length} chars`);
      assert.ok(chat >= previousChat, `chat tokens dropped at ${length} chars`);
      previousCompletion = completion;
      previousChat = chat;
    }
  });
});

describe('output text', () => {
  it('cycles through the vocabulary, one word per token', () => {
    assert.equal(outputText(0), '');
    assert.equal(outputText(3), `${OUTPUT_WORDS[0]}${OUTPUT_WORDS[1]}${OUTPUT_WORDS[2]}`);
    assert.equal(outputText(OUTPUT_WORDS.length + 1), OUTPUT_WORDS.join('') + OUTPUT_WORDS[0]);
  });

  it('uses words that need no JSON escaping', () => {
    for (const word of OUTPUT_WORDS) assert.equal(JSON.stringify(word), `"${word}"`);
  });
});
