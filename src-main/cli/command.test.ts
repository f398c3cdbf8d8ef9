import { describe, expect, it } from 'vitest';
import { isStudioError } from '../../src-shared/errors';
import type { StudioCore } from '../core/studio';
import { parseArgs } from './args';
import { defineCommand, type CliContext } from './command';
import { createOutput } from './output';

function context(rest: string[], counts: { opened: number; closed: number }): CliContext {
  return {
    args: parseArgs([], []),
    rest,
    out: createOutput(false, { out: { write: () => true } as unknown as NodeJS.WritableStream, err: { write: () => true } as unknown as NodeJS.WritableStream }),
    dataDir: '/nonexistent',
    env: {},
    signal: new AbortController().signal,
    openCore: async () => {
      counts.opened++;
      return { close: () => void counts.closed++ } as unknown as StudioCore;
    },
  };
}

describe('defineCommand', () => {
  it('opens the core once however often the run asks, and closes it once after the run', async () => {
    const counts = { opened: 0, closed: 0 };
    const command = defineCommand({
      path: ['x'],
      usage: 'x',
      summary: 'x',
      async run(ctx) {
        const a = await ctx.openCore();
        const b = await ctx.openCore();
        expect(a).toBe(b);
        expect(counts.closed).toBe(0);
        return 0;
      },
    });
    expect(await command.run(context([], counts))).toBe(0);
    expect(counts).toEqual({ opened: 1, closed: 1 });
  });

  it('closes the core when the run throws, and opens none when the run never asks', async () => {
    const counts = { opened: 0, closed: 0 };
    const failing = defineCommand({
      path: ['x'],
      usage: 'x',
      summary: 'x',
      async run(ctx) {
        await ctx.openCore();
        throw new Error('boom');
      },
    });
    await expect(failing.run(context([], counts))).rejects.toThrow('boom');
    expect(counts).toEqual({ opened: 1, closed: 1 });
    const quiet = defineCommand({ path: ['y'], usage: 'y', summary: 'y', run: async () => 0 });
    await quiet.run(context([], counts));
    expect(counts).toEqual({ opened: 1, closed: 1 });
  });

  it('checks the positional arguments by one rule: each present, no more', async () => {
    const counts = { opened: 0, closed: 0 };
    const seen: Record<string, string>[] = [];
    const command = defineCommand({
      path: ['loras', 'rename'],
      usage: 'loras rename OLD NEW',
      summary: 'x',
      positionals: ['OLD', 'NEW'],
      async run(ctx) {
        seen.push({ ...ctx.positional });
        return 0;
      },
    });
    await command.run(context(['a', 'b'], counts));
    expect(seen).toEqual([{ OLD: 'a', NEW: 'b' }]);
    for (const [rest, message] of [
      [['a'], 'loras rename needs NEW (usage: sd35-studio loras rename OLD NEW)'],
      [[], 'loras rename needs OLD and NEW (usage: sd35-studio loras rename OLD NEW)'],
      [['a', 'b', 'c'], 'loras rename takes 2 arguments (OLD NEW), not 3 (usage: sd35-studio loras rename OLD NEW)'],
    ] as const) {
      const err = await command.run(context([...rest], counts)).catch((e: unknown) => e);
      expect(isStudioError(err) && err.code === 'invalid_input' && err.message).toBe(message);
    }
    expect(seen).toHaveLength(1);
    expect(counts.opened).toBe(0);
  });
});
