// Test helper: the StudioError a promise rejects with (any other outcome fails the test).
import { StudioError, isStudioError } from '../../src-shared/errors';

export async function rejection(p: Promise<unknown>): Promise<StudioError> {
  try {
    await p;
  } catch (err) {
    if (isStudioError(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}
