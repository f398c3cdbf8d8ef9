// THE test hold-point parser (docs/architecture.md §9). SD35_TEST_HOLD=<name>[:<argument>] stops a process at a
// named point so a test can act there (SIGKILL, cancel) instead of racing a timer; honoured only when
// SD35_TEST_MODE=1. Each hold point (after-step:N, model-load, op-probe-hang|crash:<op>, save-after[-rename]:N,
// download-after-bytes:N, upscale-tile:N) reads its setting through here. Imports nothing (the env is passed in).

export interface TestHold {
  name: string;
  /** What follows the first ':' (a count or an op name), if anything. */
  arg: string | undefined;
  /** The setting as written, for the `SD35_HOLD <label>` line. */
  label: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The hold point asked for, or undefined (none, malformed, or not in test mode). */
export function testHold(env: Env | undefined): TestHold | undefined {
  if (!env || env.SD35_TEST_MODE !== '1') return undefined;
  const label = env.SD35_TEST_HOLD ?? '';
  const m = /^([a-z][a-z0-9-]{0,40})(?::(.{1,60}))?$/.exec(label);
  return m ? { name: m[1]!, arg: m[2], label } : undefined;
}

/** The count of hold point `name` (`name:N`, N a whole number), or undefined when that hold is not asked for. */
export function testHoldCount(env: Env | undefined, name: string): number | undefined {
  const h = testHold(env);
  return h?.name === name && h.arg !== undefined && /^\d{1,15}$/.test(h.arg) ? Number(h.arg) : undefined;
}
