import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { latenciesFromTimeline } from '../../../runner/engine/latency.ts';
import { SendRateFit } from '../../../runner/engine/step.ts';

const close = (a: number | undefined, b: number) => assert.ok(a !== undefined && Math.abs(a - b) < 1e-9, `${a} ≠ ${b}`);

describe('latenciesFromTimeline', () => {
  it('computes TTFT, every ITL gap, E2E and TPOT from the scheduled send time', () => {
    // scheduled at 1000 ms, content chunks at 1100, 1110, 1125, 1130 ms; 4 output tokens
    const l = latenciesFromTimeline(1000, [1100, 1110, 1125, 1130], 4);
    close(l.ttftSeconds, 0.1);
    assert.equal(l.itlSeconds.length, 3);
    close(l.itlSeconds[0], 0.01);
    close(l.itlSeconds[1], 0.015);
    close(l.itlSeconds[2], 0.005);
    close(l.e2eSeconds, 0.13);
    close(l.tpotSeconds, 0.03 / 3); // (E2E − TTFT) / (tokens − 1)
  });

  it('uses usage token counts for TPOT when chunks carry several tokens', () => {
    const l = latenciesFromTimeline(0, [50, 60, 70], 9); // 3 chunks, 9 tokens
    assert.equal(l.itlSeconds.length, 2); // ITL is per chunk gap
    close(l.tpotSeconds, 0.02 / 8);
  });

  it('includes a send delay in TTFT and E2E (coordinated omission) but not in ITL/TPOT', () => {
    const onTime = latenciesFromTimeline(1000, [1100, 1120], 2);
    const late = latenciesFromTimeline(900, [1100, 1120], 2); // scheduled 100 ms earlier, sent late
    close(late.ttftSeconds, (onTime.ttftSeconds as number) + 0.1);
    close(late.e2eSeconds, (onTime.e2eSeconds as number) + 0.1);
    close(late.tpotSeconds, onTime.tpotSeconds as number);
  });

  it('leaves TPOT undefined for fewer than two tokens and everything for no content', () => {
    const one = latenciesFromTimeline(0, [10], 1);
    close(one.ttftSeconds, 0.01);
    assert.equal(one.tpotSeconds, undefined);
    assert.deepEqual(one.itlSeconds, []);
    assert.deepEqual(latenciesFromTimeline(0, [], 0), { itlSeconds: [] });
  });
});

describe('SendRateFit (achieved rate)', () => {
  it('is exact for a perfect schedule and robust to one late send at the end', () => {
    const fit = new SendRateFit();
    for (let i = 0; i < 500; i++) fit.add(i, i * 10); // 100 req/s
    assert.ok(Math.abs((fit.rate() as number) - 100) < 1e-9);
    const late = new SendRateFit();
    for (let i = 0; i < 500; i++) late.add(i, i * 10 + (i === 499 ? 100 : 0)); // last send 100 ms late
    const endpoint = 499 / ((499 * 10 + 100) / 1000);
    assert.ok(Math.abs(endpoint / 100 - 1) > 0.019); // the endpoint formula moves 2%
    assert.ok(Math.abs((late.rate() as number) / 100 - 1) < 0.001); // the fit moves < 0.1%
  });

  it('is undefined with fewer than two sends', () => {
    const fit = new SendRateFit();
    fit.add(0, 0);
    assert.equal(fit.rate(), undefined);
  });
});
