import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { latenciesFromTimeline } from '../../../runner/engine/latency.ts';
import { Timeline, TimelinePool } from '../../../runner/engine/timeline.ts';

describe('Timeline', () => {
  it('records times in order and grows past the expected count', () => {
    const timeline = new Timeline(new TimelinePool(), 16);
    for (let i = 0; i < 40; i++) timeline.push(1000 + i);
    assert.equal(timeline.count, 40);
    assert.deepEqual(
      Array.from(timeline.times.subarray(0, timeline.count)),
      Array.from({ length: 40 }, (_, i) => 1000 + i),
    );
  });

  it('reuses a released buffer for the next stream, which starts empty', () => {
    const pool = new TimelinePool();
    const first = new Timeline(pool, 128);
    const buffer = first.times;
    first.push(5);
    first.release();
    const second = new Timeline(pool, 100);
    assert.equal(second.times, buffer);
    assert.equal(second.count, 0);
  });

  it('does not hand out a buffer smaller than asked for', () => {
    const pool = new TimelinePool();
    const small = new Timeline(pool, 16);
    small.release();
    const large = new Timeline(pool, 200);
    assert.ok(large.times.length >= 200);
  });

  it('feeds latenciesFromTimeline with only the recorded part of the buffer', () => {
    const timeline = new Timeline(new TimelinePool(), 64);
    for (const t of [1100, 1110, 1125, 1130]) timeline.push(t);
    const fromBuffer = latenciesFromTimeline(1000, timeline.times, 4, timeline.count);
    assert.deepEqual(fromBuffer, latenciesFromTimeline(1000, [1100, 1110, 1125, 1130], 4));
  });
});
