/**
 * Byte-level Server-Sent Events parser (WHATWG "event stream interpretation", data field only).
 *
 * - Line endings: LF, CRLF and lone CR, including a CRLF split across two chunks.
 * - Comments (`:...`) and the fields `event`, `id`, `retry` are ignored; one space after `data:` is stripped.
 * - Strict (the default): any other line is a protocol error (SseSyntaxError). The WHATWG spec would
 *   ignore unknown fields, but from an OpenAI-compatible server such a line means a broken stream, and
 *   silently skipping it would hide the fault.
 * - Several `data:` lines in one event are joined with `\n`.
 * - An event is dispatched at the blank line that ends it; a trailing event without one is dropped (spec).
 *
 * Hot path: an event whose `data:` line lies inside one network chunk is handed out as (buffer, start, end)
 * without copying or decoding. Only lines split across chunks and multi-line data are copied.
 */

export type SseEventHandler = (buf: Buffer, start: number, end: number) => void;

export class SseSyntaxError extends Error {
  override name = 'SseSyntaxError';
}

/** `event`, `id`, `retry` as bytes, for the strict check. */
const KNOWN_FIELDS = ['event', 'id', 'retry'].map((f) => Buffer.from(f));

function isKnownField(buf: Buffer, start: number, end: number): boolean {
  let colon = buf.indexOf(COLON_CHAR, start);
  if (colon === -1 || colon > end) colon = end;
  const len = colon - start;
  for (const f of KNOWN_FIELDS) {
    if (f.length === len && buf.compare(f, 0, len, start, colon) === 0) return true;
  }
  return false;
}

const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;
const COLON_CHAR = ':';
const EMPTY = Buffer.alloc(0);

export class SseParser {
  private readonly onEvent: SseEventHandler;
  private readonly strict: boolean;
  /** Pieces of a line that started in an earlier chunk. */
  private partial: Buffer[] = [];
  private partialLength = 0;
  /** Previous chunk ended with CR: a leading LF in the next chunk belongs to that line ending. */
  private skipLeadingLf = false;
  /** Data of the event being built: a view (single line, same chunk) or an owned buffer. */
  private dataBuf: Buffer = EMPTY;
  private dataStart = 0;
  private dataEnd = 0;
  private dataLines = 0;
  /** Bytes received, for diagnostics. */
  bytes = 0;
  /** Events dispatched. */
  events = 0;

  constructor(onEvent: SseEventHandler, strict = true) {
    this.onEvent = onEvent;
    this.strict = strict;
  }

  push(chunk: Buffer): void {
    const len = chunk.length;
    if (len === 0) return;
    this.bytes += len;
    let pos = 0;
    if (this.skipLeadingLf) {
      this.skipLeadingLf = false;
      if (chunk[0] === LF) pos = 1;
    }
    // Lone CRs are rare; when the chunk has none, LF is the only terminator (memchr via indexOf).
    const hasCr = chunk.indexOf(CR, pos) !== -1;
    while (pos < len) {
      let eol: number;
      if (hasCr) {
        eol = pos;
        while (eol < len && chunk[eol] !== LF && chunk[eol] !== CR) eol++;
        if (eol === len) eol = -1;
      } else {
        eol = chunk.indexOf(LF, pos);
      }
      if (eol === -1) {
        this.keepPartial(chunk.subarray(pos));
        break;
      }
      let next = eol + 1;
      if (chunk[eol] === CR) {
        if (next < len) {
          if (chunk[next] === LF) next++;
        } else {
          this.skipLeadingLf = true;
        }
      }
      if (this.partialLength > 0) {
        this.keepPartial(chunk.subarray(pos, eol));
        const line = Buffer.concat(this.partial, this.partialLength);
        this.partial = [];
        this.partialLength = 0;
        this.line(line, 0, line.length);
      } else {
        this.line(chunk, pos, eol);
      }
      pos = next;
    }
    // An event still open at the chunk's end must not keep a view into a buffer the caller may reuse.
    if (this.dataLines === 1 && this.dataBuf === chunk) {
      this.dataBuf = Buffer.from(chunk.subarray(this.dataStart, this.dataEnd));
      this.dataStart = 0;
      this.dataEnd = this.dataBuf.length;
    }
  }

  /** True when bytes after the last complete event were left over (a truncated event). */
  get hasPendingData(): boolean {
    return this.dataLines > 0 || this.partialLength > 0;
  }

  private keepPartial(piece: Buffer): void {
    if (piece.length === 0) return;
    this.partial.push(Buffer.from(piece));
    this.partialLength += piece.length;
  }

  private line(buf: Buffer, start: number, end: number): void {
    if (start === end) {
      this.dispatch();
      return;
    }
    if (buf[start] === COLON) return; // comment
    // field name: "data" followed by ':' or end of line
    if (
      end - start >= 4 &&
      buf[start] === 100 &&
      buf[start + 1] === 97 &&
      buf[start + 2] === 116 &&
      buf[start + 3] === 97 &&
      (end - start === 4 || buf[start + 4] === COLON)
    ) {
      let v = start + 5;
      if (v > end) v = end;
      else if (v < end && buf[v] === SPACE) v++;
      this.appendData(buf, v, end);
    } else if (this.strict && !isKnownField(buf, start, end)) {
      const text = buf.toString('utf8', start, Math.min(end, start + 120));
      throw new SseSyntaxError(`malformed SSE: unexpected line ${JSON.stringify(text)}`);
    }
  }

  private appendData(buf: Buffer, start: number, end: number): void {
    if (this.dataLines === 0) {
      this.dataBuf = buf;
      this.dataStart = start;
      this.dataEnd = end;
    } else {
      const prev = this.dataBuf.subarray(this.dataStart, this.dataEnd);
      const joined = Buffer.allocUnsafe(prev.length + 1 + (end - start));
      prev.copy(joined, 0);
      joined[prev.length] = LF;
      buf.copy(joined, prev.length + 1, start, end);
      this.dataBuf = joined;
      this.dataStart = 0;
      this.dataEnd = joined.length;
    }
    this.dataLines++;
  }

  private dispatch(): void {
    if (this.dataLines === 0) return;
    const buf = this.dataBuf;
    const start = this.dataStart;
    const end = this.dataEnd;
    this.dataBuf = EMPTY;
    this.dataLines = 0;
    this.events++;
    this.onEvent(buf, start, end);
  }
}
