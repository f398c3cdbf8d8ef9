// CLI output conventions (docs/architecture.md): with --json, stdout carries only JSON lines (one per item,
// or one object), and a failure ends with {"error":{"code","message"}}; progress and logs go to
// stderr. Without --json, human text on stdout.
import { StudioError } from '../../src-shared/errors';

export interface Output {
  readonly json: boolean;
  /** One result item: a JSON line with --json, else the human text. */
  item(value: unknown, human?: string): void;
  /** Human-only text on stdout (skipped with --json). */
  text(line: string): void;
  /** Progress and diagnostics on stderr. */
  progress(line: string): void;
  error(err: unknown): number;
}

export function createOutput(json: boolean, streams: { out: NodeJS.WritableStream; err: NodeJS.WritableStream } = { out: process.stdout, err: process.stderr }): Output {
  return {
    json,
    item(value, human) {
      if (json) streams.out.write(`${JSON.stringify(value)}\n`);
      else streams.out.write(`${human ?? (typeof value === 'string' ? value : JSON.stringify(value, null, 2))}\n`);
    },
    text(line) {
      if (!json) streams.out.write(`${line}\n`);
    },
    progress(line) {
      streams.err.write(`${line}\n`);
    },
    error(err) {
      const e = StudioError.from(err);
      if (json) streams.out.write(`${JSON.stringify({ error: { code: e.code, message: e.message } })}\n`);
      else streams.err.write(`sd35-studio: ${e.message}\n`);
      return e.exitCode;
    },
  };
}
