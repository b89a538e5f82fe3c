import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Engine, Generation, type ResponseSink } from '../../../runner/sim/engine.ts';
import { type Fault, parseFault } from '../../../runner/sim/faults.ts';
import { SimMetrics } from '../../../runner/sim/metrics.ts';
import { StreamRenderer } from '../../../runner/sim/render.ts';
import type { InferenceRequest } from '../../../runner/sim/requests.ts';
import { TickScheduler } from '../../../runner/sim/scheduler.ts';

/** Drives the engine with a fake clock: every write is recorded with the clock time it happened at. */
class Harness {
  now = 0;
  readonly scheduler = new TickScheduler(1, () => this.now);
  readonly engine: Engine;
  readonly metrics: SimMetrics;

  constructor(config: Partial<ConstructorParameters<typeof Engine>[0]> = {}) {
    let engine: Engine | undefined;
    this.metrics = new SimMetrics(
      { model: 'm', maxModelLen: 4096, kvCacheTokens: 1000, processMetrics: false },
      {
        running: () => engine?.running ?? 0,
        waiting: () => engine?.waiting ?? 0,
        kvTokens: () => engine?.kvTokens() ?? 0,
      },
    );
    engine = new Engine(
      {
        ttftMs: 50,
        ttftJitterMs: 0,
        prefillMicrosPerToken: 0,
        itlMs: 10,
        itlJitterMs: 0,
        maxNumSeqs: 256,
        tokensPerChunk: 1,
        eosMinTokens: 5,
        eosMaxTokens: 5,
        maxModelLen: 4096,
        seed: 1,
        ...config,
      },
      this.metrics,
      this.scheduler,
    );
    this.engine = engine;
  }

  advanceTo(time: number): void {
    for (let t = this.now; t <= time; t += 0.5) {
      this.now = t;
      this.scheduler.runDue();
    }
    this.now = time;
    this.scheduler.runDue();
  }

  submit(request: Partial<InferenceRequest>, fault?: Fault): RecordingSink {
    const full: InferenceRequest = {
      endpoint: 'chat',
      model: 'm',
      stream: true,
      includeUsage: true,
      promptTokens: 10,
      maxTokens: 4,
      minTokens: 0,
      ignoreEos: true,
      ...request,
    };
    const sink = new RecordingSink(this);
    const renderer = full.stream ? new StreamRenderer(full.endpoint, 'id-1', 1, 'm') : undefined;
    const body = full.stream ? undefined : { complete: () => '{"ok":true}', malformed: () => '{"ok"' };
    const generation = new Generation(this.engine, {
      request: full,
      plan: this.engine.plan(full),
      sink,
      renderer,
      body,
      fault,
      arrivalMs: this.now,
    });
    sink.generation = generation;
    if (renderer !== undefined) sink.startStream(renderer.roleEvent());
    this.engine.submit(generation);
    return sink;
  }

  stop(): void {
    this.scheduler.stop();
    this.metrics.stop();
  }
}

interface Write {
  at: number;
  events: string[];
}

class RecordingSink implements ResponseSink {
  readonly writes: Write[] = [];
  ended = false;
  wasReset = false;
  response: { status: number; body: string; at: number } | undefined;
  generation: Generation | undefined;
  readonly #harness: Harness;

  constructor(harness: Harness) {
    this.#harness = harness;
  }

  startStream(events: string): void {
    this.write(events);
  }

  write(events: string): void {
    this.writes.push({ at: this.#harness.now, events: events.split('\n\n').filter((e) => e !== '') });
  }

  end(events: string): void {
    this.write(events);
    this.ended = true;
  }

  respond(status: number, body: string): void {
    this.response = { status, body, at: this.#harness.now };
  }

  reset(): void {
    this.wasReset = true;
  }

  /** [time, content] of each content-bearing chunk. */
  contentTimes(): Array<[number, string]> {
    const result: Array<[number, string]> = [];
    for (const write of this.writes) {
      for (const event of write.events) {
        if (!event.startsWith('data: {')) continue;
        let parsed: { choices: Array<{ delta?: { content?: string } }> };
        try {
          parsed = JSON.parse(event.slice(6));
        } catch {
          continue;
        }
        const content = parsed.choices[0]?.delta?.content;
        if (content) result.push([write.at, content]);
      }
    }
    return result;
  }

  allEvents(): string[] {
    return this.writes.flatMap((write) => write.events);
  }
}

describe('Engine timing', () => {
  it('sends the role chunk at once, the first token at TTFT and each next token one ITL later', () => {
    const h = new Harness();
    const sink = h.submit({ maxTokens: 4 });
    assert.equal(sink.writes[0]?.at, 0);
    assert.match(sink.writes[0]?.events[0] ?? '', /"role":"assistant"/);
    h.advanceTo(200);
    assert.deepEqual(
      sink.contentTimes().map(([at]) => at),
      [50, 60, 70, 80],
    );
    const events = sink.allEvents();
    assert.match(events.at(-3) ?? '', /"finish_reason":"length"/);
    assert.match(events.at(-2) ?? '', /"usage":\{"prompt_tokens":10,"total_tokens":14,"completion_tokens":4\}/);
    assert.equal(events.at(-1), 'data: [DONE]');
    assert.ok(sink.ended);
    assert.equal(h.engine.running, 0);
    assert.equal(h.metrics.generationTokens.value(), 4);
    assert.equal(h.metrics.ttft.sum, 0.05);
    assert.equal(h.metrics.interTokenLatency.count, 3);
    h.stop();
  });

  it('adds prefill time per prompt token to the TTFT', () => {
    const h = new Harness({ prefillMicrosPerToken: 1000 });
    const sink = h.submit({ promptTokens: 30, maxTokens: 1 });
    h.advanceTo(200);
    assert.deepEqual(
      sink.contentTimes().map(([at]) => at),
      [80],
    );
    h.stop();
  });

  it('groups tokensPerChunk tokens per chunk after the first, sent when the last is due', () => {
    const h = new Harness({ tokensPerChunk: 3 });
    const sink = h.submit({ maxTokens: 8 });
    h.advanceTo(300);
    const chunks = sink.contentTimes();
    assert.deepEqual(
      chunks.map(([at]) => at),
      [50, 80, 110, 120],
    );
    assert.equal(chunks.map(([, text]) => text).join(''), ' The quick brown fox jumps over the lazy');
    h.stop();
  });

  it('sends every chunk already due in one write when a tick comes late', () => {
    const h = new Harness();
    const sink = h.submit({ maxTokens: 6 });
    h.now = 75; // ticks at 50..70 never ran
    h.scheduler.runDue();
    const late = sink.writes.at(-1);
    assert.equal(late?.at, 75);
    assert.equal(late?.events.length, 3);
    h.advanceTo(200);
    // Deadlines stay absolute: the remaining tokens are not shifted by the late tick.
    assert.deepEqual(
      sink.contentTimes().map(([at]) => at),
      [75, 75, 75, 80, 90, 100],
    );
    h.stop();
  });

  it('queues beyond maxNumSeqs in FIFO order; the wait adds to TTFT', () => {
    const h = new Harness({ maxNumSeqs: 2 });
    const sinks = [1, 2, 3, 4, 5].map(() => h.submit({ maxTokens: 2 }));
    assert.equal(h.engine.running, 2);
    assert.equal(h.engine.waiting, 3);
    h.advanceTo(1000);
    const firstTokens = sinks.map((sink) => sink.contentTimes()[0]?.[0]);
    // Each request runs 60 ms (TTFT 50 + one 10 ms step); the queue drains two at a time.
    assert.deepEqual(firstTokens, [50, 50, 110, 110, 170]);
    assert.equal(h.engine.waiting, 0);
    assert.equal(h.engine.maxWaiting, 3);
    assert.equal(h.metrics.queueTime.count, 5);
    h.stop();
  });

  it('frees the slot of a client that went away, and drops it from the queue', () => {
    const h = new Harness({ maxNumSeqs: 1 });
    const first = h.submit({ maxTokens: 100 });
    const second = h.submit({ maxTokens: 1 });
    const third = h.submit({ maxTokens: 1 });
    h.engine.clientClosed(second.generation as Generation);
    assert.equal(h.engine.waiting, 1);
    h.advanceTo(60);
    h.engine.clientClosed(first.generation as Generation);
    assert.equal(h.engine.running, 1); // the third took the slot
    h.advanceTo(200);
    assert.equal(third.contentTimes()[0]?.[0], 110);
    assert.equal(second.contentTimes().length, 0);
    assert.equal(h.engine.aborted, 2);
    assert.equal(h.metrics.requestSuccess.value('abort'), 2);
    h.stop();
  });

  it('without ignore_eos stops at the seeded EOS position or max_tokens, whichever is first', () => {
    const h = new Harness({ eosMinTokens: 5, eosMaxTokens: 5 });
    assert.deepEqual(h.engine.plan({ ...base(), maxTokens: 100, ignoreEos: false }), {
      outputTokens: 5,
      finishReason: 'stop',
    });
    assert.deepEqual(h.engine.plan({ ...base(), maxTokens: 3, ignoreEos: false }), {
      outputTokens: 3,
      finishReason: 'length',
    });
    assert.deepEqual(h.engine.plan({ ...base(), maxTokens: 100, minTokens: 9, ignoreEos: false }), {
      outputTokens: 9,
      finishReason: 'stop',
    });
    assert.deepEqual(h.engine.plan({ ...base(), maxTokens: undefined, ignoreEos: true }), {
      outputTokens: 4096 - 10,
      finishReason: 'length',
    });
    assert.throws(() => h.engine.plan({ ...base(), maxTokens: 4090 }), /maximum context length is 4096 tokens/);
    h.stop();
  });

  it('answers non-streaming requests when the last token is due', () => {
    const h = new Harness();
    const sink = h.submit({ stream: false, maxTokens: 5 });
    h.advanceTo(200);
    assert.deepEqual(sink.response, { status: 200, body: '{"ok":true}', at: 90 });
    assert.equal(h.metrics.requestSuccess.value('length'), 1);
    h.stop();
  });
});

function base(): InferenceRequest {
  return {
    endpoint: 'chat',
    model: 'm',
    stream: true,
    includeUsage: false,
    promptTokens: 10,
    maxTokens: 4,
    minTokens: 0,
    ignoreEos: true,
  };
}

describe('Engine faults', () => {
  it('reset-after=k sends k tokens and resets when token k+1 is due', () => {
    const h = new Harness();
    const sink = h.submit({ maxTokens: 10 }, parseFault('reset-after=3'));
    h.advanceTo(300);
    assert.deepEqual(
      sink.contentTimes().map(([at]) => at),
      [50, 60, 70],
    );
    assert.ok(sink.wasReset);
    assert.ok(!sink.ended);
    assert.equal(h.engine.running, 0);
    assert.equal(h.engine.faultCounts.reset, 1);
    h.stop();
  });

  it('reset-after=0 resets at TTFT', () => {
    const h = new Harness();
    const sink = h.submit({ maxTokens: 10 }, parseFault('reset-after=0'));
    h.advanceTo(49);
    assert.ok(!sink.wasReset);
    h.advanceTo(50);
    assert.ok(sink.wasReset);
    assert.equal(sink.contentTimes().length, 0);
    h.stop();
  });

  it('stall-after=k sends k tokens, then nothing, never ending the response, and frees the slot', () => {
    const h = new Harness({ maxNumSeqs: 1 });
    const stalled = h.submit({ maxTokens: 10 }, parseFault('stall-after=2'));
    const next = h.submit({ maxTokens: 1 });
    h.advanceTo(1000);
    assert.equal(stalled.contentTimes().length, 2);
    assert.ok(!stalled.ended && !stalled.wasReset);
    assert.equal(next.contentTimes()[0]?.[0], 70 + 50);
    h.stop();
  });

  it('a halting fault past the last token drops only usage and [DONE]', () => {
    const h = new Harness();
    const sink = h.submit({ maxTokens: 3 }, parseFault('reset-after=99'));
    h.advanceTo(300);
    assert.equal(sink.contentTimes().length, 3);
    assert.ok(sink.wasReset);
    assert.ok(!sink.allEvents().includes('data: [DONE]'));
    h.stop();
  });

  it('malformed-json-after=k inserts a truncated event after token k and then finishes normally', () => {
    const h = new Harness();
    const sink = h.submit({ maxTokens: 4 }, parseFault('malformed-json-after=2'));
    h.advanceTo(300);
    const events = sink.allEvents();
    const bad = events.findIndex((event) => {
      try {
        JSON.parse(event.slice(6));
        return false;
      } catch {
        return event !== 'data: [DONE]';
      }
    });
    assert.equal(bad, 3); // role, token 0, token 1, malformed
    assert.equal(sink.contentTimes().length, 4);
    assert.equal(events.at(-1), 'data: [DONE]');
    assert.equal(h.engine.faultCounts['malformed-json'], 1);
    h.stop();
  });

  it('malformed-sse-after=0 puts a non-SSE line before the first token', () => {
    const h = new Harness();
    const sink = h.submit({ maxTokens: 2 }, parseFault('malformed-sse-after=0'));
    h.advanceTo(300);
    const events = sink.allEvents();
    assert.ok(!events[1]?.startsWith('data:'));
    assert.equal(sink.contentTimes().length, 2);
    h.stop();
  });

  it('non-streaming: malformed faults return a truncated body, reset resets at completion', () => {
    const h = new Harness();
    const malformed = h.submit({ stream: false, maxTokens: 2 }, parseFault('malformed-json-after=0'));
    const reset = h.submit({ stream: false, maxTokens: 2 }, parseFault('reset-after=1'));
    h.advanceTo(300);
    assert.deepEqual(malformed.response, { status: 200, body: '{"ok"', at: 60 });
    assert.ok(reset.wasReset);
    assert.equal(reset.response, undefined);
    h.stop();
  });
});
