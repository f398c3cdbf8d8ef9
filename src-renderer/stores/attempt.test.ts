// The one busy/error wrapper: the order of its hooks, a failure kept as a StudioError, busy always undone.
import { describe, expect, it } from 'vitest';
import { StudioError } from '../../src-shared/errors';
import { attempt } from './attempt';

describe('attempt', () => {
  it('busy → clear → work → succeeded → not busy; the result is returned', async () => {
    const seen: string[] = [];
    const r = await attempt(
      { busy: (on) => seen.push(`busy ${on}`), clear: () => seen.push('clear'), succeeded: (v) => seen.push(`ok ${v}`), failed: () => seen.push('failed') },
      async () => {
        seen.push('work');
        return 7;
      },
    );
    expect(r).toBe(7);
    expect(seen).toEqual(['busy true', 'clear', 'work', 'ok 7', 'busy false']);
  });

  it('a failure reaches `failed` as a StudioError with its code, resolves undefined and still ends busy', async () => {
    const seen: string[] = [];
    let kept: StudioError | undefined;
    const r = await attempt(
      { busy: (on) => seen.push(`busy ${on}`), succeeded: () => seen.push('ok'), failed: (e) => (kept = e) },
      () => Promise.reject(new StudioError('not_found', 'No such model.')),
    );
    expect(r).toBeUndefined();
    expect(seen).toEqual(['busy true', 'busy false']);
    expect(kept).toBeInstanceOf(StudioError);
    expect([kept?.code, kept?.message]).toEqual(['not_found', 'No such model.']);
    const plain = await attempt({ failed: (e) => (kept = e) }, () => Promise.reject(new Error('socket closed')));
    expect(plain).toBeUndefined();
    expect(kept?.message).toMatch(/socket closed/);
  });
});
