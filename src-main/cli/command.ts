// The shape of a CLI command. Rooms add theirs to commands/index.ts.
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
  /** Opens StudioCore on the data folder with the plain-Node adapters (closed by the caller). */
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
