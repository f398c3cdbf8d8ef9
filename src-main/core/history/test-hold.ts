// Test hold points for the crash tests. With SD35_TEST_MODE=1 the process that saves images stops at
// a named point, prints `SD35_HOLD <point>` to stderr and waits forever — so a test can SIGKILL it at
// exactly that point instead of racing a timer. Ignored unless test mode is on.
//
//   SD35_TEST_HOLD=save-after:N          after N completed saves, once the tmp file of save N+1 is
//                                        written and fsynced, before its rename
//   SD35_TEST_HOLD=save-after-rename:N   after N completed saves, once save N+1's file has its final
//                                        name, before its rows are inserted

import { testHoldCount } from '../../../src-shared/test-hold';

export type SaveStage = 'tmp-written' | 'renamed';

/** Runs at each stage of a save; may delay it (tests). */
export type SaveHook = (stage: SaveStage, id: number, file: string) => Promise<void>;

export interface SaveHold {
  stage: SaveStage;
  after: number;
  label: string;
}

export function parseSaveHold(env: NodeJS.ProcessEnv): SaveHold | undefined {
  for (const [name, stage] of [['save-after', 'tmp-written'], ['save-after-rename', 'renamed']] as const) {
    const after = testHoldCount(env, name);
    if (after !== undefined) return { stage, after, label: `${name}:${after}` };
  }
  return undefined;
}

/** The hook the history service runs during saves, from SD35_TEST_MODE/SD35_TEST_HOLD. */
export function saveHoldFromEnv(env: NodeJS.ProcessEnv = process.env): SaveHook | undefined {
  const hold = parseSaveHold(env);
  if (!hold) return undefined;
  let reached = 0;
  return async (stage) => {
    if (stage !== hold.stage) return;
    if (reached === hold.after) {
      process.stderr.write(`SD35_HOLD ${hold.label}\n`);
      // Wait forever (the test kills us); the timer keeps the event loop alive.
      await new Promise<never>(() => {
        setInterval(() => undefined, 1 << 30);
      });
    }
    reached++;
  };
}
