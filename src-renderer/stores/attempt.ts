// THE busy/error wrapper of the renderer stores' actions (issue #15 §2: four copies before — init-image's `run`,
// models' `run`, the queue's `act`, generate's `submit`): mark busy, clear the last error, run the work, keep its
// failure as a StudioError (the store decides where it shows: a field, a card, a toast), unmark busy whatever happened.
import { StudioError } from '../../src-shared/errors';

export interface AttemptHooks<T> {
  /** true before the work, false after it (also after a failure). */
  busy?: (on: boolean) => void;
  /** Before the work: the previous attempt's error goes. */
  clear?: () => void;
  /** The work's result, when it succeeded. */
  succeeded?: (value: T) => void;
  /** The work failed: why, as the studio says it. */
  failed: (err: StudioError) => void;
}

/** Runs `work` under `hooks`; its result, or undefined when it failed (never throws). */
export async function attempt<T>(hooks: AttemptHooks<T>, work: () => Promise<T>): Promise<T | undefined> {
  hooks.busy?.(true);
  hooks.clear?.();
  try {
    const value = await work();
    hooks.succeeded?.(value);
    return value;
  } catch (err) {
    hooks.failed(StudioError.from(err));
    return undefined;
  } finally {
    hooks.busy?.(false);
  }
}
