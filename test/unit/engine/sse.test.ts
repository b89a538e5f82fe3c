import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SseParser, SseSyntaxError } from '../../../runner/engine/sse.ts';

/** Feeds `chunks` to a parser and returns the dispatched event payloads as strings. */
function parse(chunks: Array<string | Buffer>, strict = true): { events: string[]; pending: boolean } {
  const events: string[] = [];
  const p = new SseParser((buf, start, end) => events.push(buf.toString('utf8', start, end)), strict);
  for (const c of chunks) p.push(typeof c === 'string' ? Buffer.from(c) : c);
  return { events, pending: p.hasPendingData };
}

const STREAM =
  ': keep-alive comment\n' +
  'data: {"choices":[{"delta":{"content":"héllo"}}]}\n\n' +
  'event: message\r\nid: 7\r\ndata: {"a":1}\r\n\r\n' +
  'data: first line\ndata: second line\ndata:third\n\n' +
  'retry: 1000\ndata\n\n' +
  'data: [DONE]\n\n';

const EXPECTED = [
  '{"choices":[{"delta":{"content":"héllo"}}]}',
  '{"a":1}',
  'first line\nsecond line\nthird',
  '',
  '[DONE]',
];

describe('SseParser', () => {
  it('parses a stream delivered in one chunk', () => {
    assert.deepEqual(parse([STREAM]).events, EXPECTED);
  });

  it('gives the same events for every split point (two and three pieces)', () => {
    const bytes = Buffer.from(STREAM);
    for (let i = 0; i <= bytes.length; i++) {
      assert.deepEqual(parse([bytes.subarray(0, i), bytes.subarray(i)]).events, EXPECTED, `split at ${i}`);
    }
    for (let i = 0; i <= bytes.length; i += 3) {
      for (let j = i; j <= bytes.length; j += 5) {
        const pieces = [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)];
        assert.deepEqual(parse(pieces).events, EXPECTED, `split at ${i}, ${j}`);
      }
    }
  });

  it('gives the same events when fed one byte at a time', () => {
    const bytes = Buffer.from(STREAM);
    const pieces = Array.from(bytes, (b) => Buffer.from([b]));
    assert.deepEqual(parse(pieces).events, EXPECTED);
  });

  it('handles lone CR line endings, also when a CRLF is split across chunks', () => {
    assert.deepEqual(parse(['data: a\rdata: b\r\rdata: c\r\n\r\n']).events, ['a\nb', 'c']);
    assert.deepEqual(parse(['data: x\r', '\ndata: y\r', '\n\r', '\n']).events, ['x\ny']);
  });

  it('strips exactly one space after "data:"', () => {
    assert.deepEqual(parse(['data:  two spaces\n\n', 'data:none\n\n']).events, [' two spaces', 'none']);
  });

  it('passes a large event split over many chunks intact', () => {
    const big = 'x'.repeat(1_000_000);
    const bytes = Buffer.from(`data: ${big}\n\ndata: after\n\n`);
    const pieces: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 65_536) pieces.push(bytes.subarray(i, i + 65_536));
    const { events } = parse(pieces);
    assert.equal(events.length, 2);
    assert.equal(events[0]?.length, big.length);
    assert.equal(events[1], 'after');
  });

  it('keeps an event valid after the chunk it was cut from is overwritten', () => {
    const events: string[] = [];
    const p = new SseParser((buf, s, e) => events.push(buf.toString('utf8', s, e)));
    const chunk = Buffer.from('data: keep me\n');
    p.push(chunk);
    chunk.fill(0x7a);
    p.push(Buffer.from('\n'));
    assert.deepEqual(events, ['keep me']);
  });

  it('drops a trailing event that was never terminated and reports it', () => {
    const { events, pending } = parse(['data: done\n\ndata: truncated']);
    assert.deepEqual(events, ['done']);
    assert.equal(pending, true);
    assert.equal(parse(['data: done\n\n']).pending, false);
  });

  it('rejects lines that are not SSE in strict mode and ignores them otherwise', () => {
    assert.throws(() => parse(['data: ok\n\n{"malformed": true}\n\n']), SseSyntaxError);
    assert.throws(() => parse(['data: ok\n\n{"malformed": true}\n\n']), /malformed SSE: unexpected line/);
    assert.deepEqual(parse(['data: ok\n\nnonsense\n\n'], false).events, ['ok']);
  });
});
