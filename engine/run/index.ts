export { errorMessage, errorStack } from './errors.ts';
export { InProcessExecutor } from './in-process.ts';
export { newRunId } from './run-id.ts';
export { execute } from './scheduler.ts';
export type { RunOptions, RunResult } from './types.ts';
export { runUnit, unitError } from './unit-runner.ts';
export type { RunReason } from '../events.ts';
