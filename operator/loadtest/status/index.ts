/** Status of a LoadTest: pure functions from what the API shows (pods, Job, runner results) to status fields. */
export * from './conditions.ts';
export * from './failure.ts';
export * from './pods.ts';
export * from './progress.ts';
export * from './report.ts';
export * from './results.ts';
export * from './runners.ts';
export * from './start.ts';
export * from './summary.ts';
export * from './thresholds.ts';
