import pLimit from 'p-limit';
import type { Definitions } from '../definitions.ts';
import type { Executor, UnitHooks, UnitJob, UnitResult } from '../executor.ts';
import { runUnit } from './unit-runner.ts';

/** Runs units in this thread, on the definitions the run was planned with. */
export class InProcessExecutor implements Executor {
  readonly name = 'in-process';
  // One bound on input loads for all the units in flight (e.g. S3 listings), as before the seam.
  private readonly inputLimit = pLimit(8);

  constructor(private readonly defs: Definitions) {}

  run(job: UnitJob, hooks: UnitHooks): Promise<UnitResult> {
    return runUnit(this.defs, job, hooks, this.inputLimit);
  }
}
