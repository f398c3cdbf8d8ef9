import { describe, expect, it } from 'vitest';
import { StudioError } from '../../../src-shared/errors';
import { TransientError, backoffDelay, isTransient, parseRetryAfter, sleep, withRetries } from './retry';

const policy = { retries: 3, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 };

describe('retry', () => {
  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(' 0 ')).toBe(0);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:50 GMT'))).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('backs off exponentially with jitter, capped, and honours Retry-After up to a limit', () => {
    expect(backoffDelay(1, policy, undefined, () => 0.5)).toBe(100);
    expect(backoffDelay(3, policy, undefined, () => 0.5)).toBe(400);
    expect(backoffDelay(10, policy, undefined, () => 0.5)).toBe(1000);
    expect(backoffDelay(1, policy, undefined, () => 0)).toBe(75);
    expect(backoffDelay(1, policy, undefined, () => 1)).toBe(125);
    expect(backoffDelay(1, policy, 2500)).toBe(2500);
    expect(backoffDelay(1, policy, 60_000)).toBe(5000);
  });

  it('tells transient failures from the rest', () => {
    expect(isTransient(new TransientError('503'))).toBe(true);
    expect(isTransient(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isTransient(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }))).toBe(true);
    expect(isTransient(new TypeError('terminated'))).toBe(true);
    expect(isTransient(new DOMException('t', 'TimeoutError'))).toBe(true);
    expect(isTransient(new StudioError('auth_rejected', 'no'))).toBe(false);
    expect(isTransient(new Error('ENOENT'))).toBe(false);
  });

  it('retries transient failures a bounded number of times, then fails with network', async () => {
    let calls = 0;
    const notices: number[] = [];
    const ok = await withRetries(
      'fetch a thing',
      async () => {
        if (++calls < 3) throw new TransientError('HTTP 503', 1);
        return 'done';
      },
      { policy, onRetry: (n) => notices.push(n.delayMs) },
    );
    expect(ok).toBe('done');
    expect(notices).toEqual([1, 1]);
    calls = 0;
    const err = await withRetries('fetch a thing', async () => {
      calls++;
      throw new TransientError('HTTP 500', 1);
    }, { policy }).catch((e: unknown) => e);
    expect(calls).toBe(4);
    expect(err).toBeInstanceOf(StudioError);
    expect((err as StudioError).code).toBe('network');
    expect((err as StudioError).message).toMatch(/Could not fetch a thing after 4 attempts \(HTTP 500\)/);
  });

  it('does not retry other errors, and stops at once when aborted', async () => {
    let calls = 0;
    await expect(withRetries('x', async () => {
      calls++;
      throw new StudioError('not_found', 'gone');
    }, { policy })).rejects.toThrow('gone');
    expect(calls).toBe(1);
    const ac = new AbortController();
    const p = withRetries('x', async () => {
      throw new TransientError('slow', 10_000);
    }, { policy, signal: ac.signal });
    setTimeout(() => ac.abort('stop'), 20);
    await expect(p).rejects.toBe('stop');
    await expect(sleep(10_000, AbortSignal.abort('now'))).rejects.toBe('now');
  });
});
