// The one job-status rule, on the cases where the renderer's former copy disagreed with it.
import { describe, expect, it } from 'vitest';
import { rollUpJobStatus, type StatusCounts } from './job-status';

const none: StatusCounts = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0, interrupted: 0 };
const of = (c: Partial<StatusCounts>): StatusCounts => ({ ...none, ...c });

describe('rollUpJobStatus', () => {
  it('is undefined for a job without generations', () => {
    expect(rollUpJobStatus(none)).toBeUndefined();
  });

  it('running while any runs or some are queued beside finished ones; queued while all wait', () => {
    expect(rollUpJobStatus(of({ running: 1, queued: 3 }))).toBe('running');
    expect(rollUpJobStatus(of({ done: 1, queued: 1 }))).toBe('running');
    expect(rollUpJobStatus(of({ queued: 4 }))).toBe('queued');
  });

  it('done only when all are done; otherwise failed, then interrupted, then cancelled', () => {
    expect(rollUpJobStatus(of({ done: 4 }))).toBe('done');
    expect(rollUpJobStatus(of({ done: 1, cancelled: 1 }))).toBe('cancelled');
    expect(rollUpJobStatus(of({ failed: 1, interrupted: 1 }))).toBe('failed');
    expect(rollUpJobStatus(of({ interrupted: 1, cancelled: 2, done: 1 }))).toBe('interrupted');
    expect(rollUpJobStatus(of({ cancelled: 2 }))).toBe('cancelled');
  });
});
