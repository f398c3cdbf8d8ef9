// StudioError: the one error shape that crosses process boundaries (IPC, HTTP/WebSocket,
// host ⇄ worker, CLI). Each code has a human meaning and a CLI exit code (docs/architecture.md).
import { z } from 'zod';

export const ERROR_CODES = {
  internal: { exit: 1, summary: 'Internal error' },
  invalid_input: { exit: 2, summary: 'Invalid input' },
  auth_required: { exit: 3, summary: 'A Hugging Face token is needed' },
  auth_rejected: { exit: 3, summary: 'The Hugging Face token was rejected' },
  licence_not_accepted: { exit: 3, summary: 'The model licence has not been accepted' },
  network: { exit: 4, summary: 'Network error' },
  verification_failed: { exit: 5, summary: 'Verification failed' },
  disk_full: { exit: 6, summary: 'Not enough disk space' },
  not_found: { exit: 7, summary: 'Not found' },
  cancelled: { exit: 8, summary: 'Cancelled' },
  interrupted: { exit: 8, summary: 'Interrupted' },
  worker_crashed: { exit: 9, summary: 'The inference worker crashed' },
  conflict: { exit: 2, summary: 'Conflict' },
  unavailable: { exit: 1, summary: 'Not available here' },
  newer_database: { exit: 1, summary: 'The database was written by a newer version' },
  locked: { exit: 1, summary: 'The data folder is in use' },
} as const satisfies Record<string, { exit: number; summary: string }>;

export type StudioErrorCode = keyof typeof ERROR_CODES;
export const errorCodeSchema = z.enum(Object.keys(ERROR_CODES) as [StudioErrorCode, ...StudioErrorCode[]]);

export const studioErrorWireSchema = z
  .object({
    code: errorCodeSchema,
    message: z.string().max(20_000),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type StudioErrorWire = z.infer<typeof studioErrorWireSchema>;

export class StudioError extends Error {
  override readonly name = 'StudioError';
  constructor(
    readonly code: StudioErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  toWire(): StudioErrorWire {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  static fromWire(wire: unknown): StudioError {
    const parsed = studioErrorWireSchema.safeParse(wire);
    if (!parsed.success) return new StudioError('internal', 'Malformed error from the other side');
    return new StudioError(parsed.data.code, parsed.data.message, parsed.data.details);
  }

  /** Any thrown value as a StudioError; unknown errors become `internal` with their message kept. */
  static from(err: unknown): StudioError {
    if (err instanceof StudioError) return err;
    if (err instanceof Error) return new StudioError('internal', err.message);
    return new StudioError('internal', String(err));
  }
}

export function isStudioError(err: unknown, code?: StudioErrorCode): err is StudioError {
  return err instanceof StudioError && (code === undefined || err.code === code);
}

export function exitCodeFor(err: unknown): number {
  return err instanceof StudioError ? err.exitCode : 1;
}
