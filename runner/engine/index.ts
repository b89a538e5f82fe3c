/** The load-generation engine's public surface. */
export { runLoad } from './run.ts';
export type * from './types.ts';
