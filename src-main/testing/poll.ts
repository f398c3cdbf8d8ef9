// Waiting in tests, bounded by rounds rather than by the clock: a busy machine makes each round longer but
// never ends the wait sooner, so a slow CI box cannot turn a correct behaviour into a failure. A behaviour
// that never happens still ends the loop after `rounds` checks.

/** Checks `test` now and after each `intervalMs` pause, at most `rounds` times; true once it holds. */
export async function pollUntil(test: () => boolean | Promise<boolean>, rounds = 600, intervalMs = 50): Promise<boolean> {
  for (let i = 0; i < rounds; i++) {
    if (await test()) return true;
    await pause(intervalMs);
  }
  return await test();
}

/** Like pollUntil, but throws "timed out waiting for <what>" when the rounds run out. */
export async function waitUntil(test: () => boolean | Promise<boolean>, what: string, rounds = 600, intervalMs = 50): Promise<void> {
  if (!(await pollUntil(test, rounds, intervalMs))) throw new Error(`gave up waiting for ${what} after ${rounds} checks`);
}

/** A pause (not a bound: nothing is asserted about how long it took). */
export function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
