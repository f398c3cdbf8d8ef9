// The shape of a CLI command, and defineCommand: how every command is made. Rooms add theirs to commands/index.ts.
import { StudioError } from '../../src-shared/errors';
import type { StudioCore } from '../core/studio';
import type { OptionSpec, ParsedArgs } from './args';
import type { Output } from './output';

export interface CliContext {
  args: ParsedArgs;
  /** Words after the command's own words (positional arguments). */
  rest: string[];
  out: Output;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  /** Opens StudioCore on the data folder with the plain-Node adapters (through defineCommand: once, closed by it). */
  openCore(runtime?: 'cli' | 'browser'): Promise<StudioCore>;
  /** Aborted on Ctrl+C / SIGTERM. */
  signal: AbortSignal;
}

export interface Command {
  /** e.g. ['serve'] or ['models', 'list']. */
  path: string[];
  usage: string;
  summary: string;
  options: OptionSpec[];
  /** Returns the exit code. */
  run(ctx: CliContext): Promise<number>;
}

export interface CommandSpec {
  /** e.g. ['serve'] or ['models', 'list']. */
  path: string[];
  usage: string;
  summary: string;
  options?: OptionSpec[];
  /**
   * The positional arguments, in order (e.g. ['OLD', 'NEW']): each is required and no more are taken; the run
   * reads them from `ctx.positional`. Absent: the words after the command are the command's own (`ctx.rest`).
   */
  positionals?: readonly string[];
  /** Returns the exit code. */
  run(ctx: CommandContext): Promise<number>;
}

export interface CommandContext extends CliContext {
  /** The declared positional arguments by name, present (CommandSpec.positionals). */
  positional: Readonly<Record<string, string>>;
}

/**
 * THE way a CLI command is made: the positional arguments checked by one rule, and the core opened at most once
 * (at the first `ctx.openCore()`, the same core after) and closed once when the command ends, however it ends.
 */
export function defineCommand(spec: CommandSpec): Command {
  const names = spec.positionals;
  return {
    path: spec.path,
    usage: spec.usage,
    summary: spec.summary,
    options: spec.options ?? [],
    async run(ctx) {
      const positional: Record<string, string> = {};
      if (names) {
        const missing = names.slice(ctx.rest.length);
        if (missing.length > 0 || ctx.rest.length > names.length) {
          const problem = missing.length > 0 ? `needs ${missing.join(' and ')}` : `takes ${names.length === 1 ? 'one argument' : `${names.length} arguments`} (${names.join(' ')}), not ${ctx.rest.length}`;
          throw new StudioError('invalid_input', `${spec.path.join(' ')} ${problem} (usage: sd35-studio ${spec.usage})`);
        }
        names.forEach((name, i) => (positional[name] = ctx.rest[i]!));
      }
      let opened: Promise<StudioCore> | undefined;
      try {
        return await spec.run({ ...ctx, positional, openCore: (runtime) => (opened ??= ctx.openCore(runtime)) });
      } finally {
        if (opened) await opened.then((core) => core.close(), () => undefined);
      }
    },
  };
}
