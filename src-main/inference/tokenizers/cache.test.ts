// THE tokenizer cache (tokenizers/cache.ts): loads counted through an injected loader.
import { describe, expect, it } from 'vitest';
import type { PromptTokenizers } from './index';
import { TokenizerCache } from './cache';

function counting(fail: (folder: string) => boolean = () => false) {
  const loads: string[] = [];
  const load = async (folder: string, o: { t5: boolean }): Promise<PromptTokenizers> => {
    loads.push(`${folder}${o.t5 ? '+t5' : ''}`);
    if (fail(folder)) throw new Error(`no tokenizer in ${folder}`);
    return { folder, t5: o.t5 } as unknown as PromptTokenizers;
  };
  return { loads, load };
}

describe('TokenizerCache', () => {
  it('loads once per folder and T5 choice, however many asks (also while the first load runs)', async () => {
    const { loads, load } = counting();
    const cache = new TokenizerCache(load);
    const [a, b] = await Promise.all([cache.get('/m/a', true), cache.get('/m/a', true)]);
    expect(a).toBe(b);
    await cache.get('/m/a', true);
    await cache.get('/m/a', false);
    expect(loads).toEqual(['/m/a+t5', '/m/a']);
  });

  it('keeps at most four; the oldest goes first', async () => {
    const { loads, load } = counting();
    const cache = new TokenizerCache(load);
    for (const f of ['1', '2', '3', '4', '5']) await cache.get(f, false);
    await cache.get('5', false);
    await cache.get('2', false);
    expect(loads).toEqual(['1', '2', '3', '4', '5']);
    await cache.get('1', false);
    expect(loads).toEqual(['1', '2', '3', '4', '5', '1']);
  });

  it('does not keep a failed load: the repaired folder is loaded again', async () => {
    let broken = true;
    const { loads, load } = counting(() => broken);
    const cache = new TokenizerCache(load);
    await expect(cache.get('/m/x', true)).rejects.toThrow(/no tokenizer/);
    broken = false;
    await expect(cache.get('/m/x', true)).resolves.toMatchObject({ folder: '/m/x' });
    await cache.get('/m/x', true);
    expect(loads).toEqual(['/m/x+t5', '/m/x+t5']);
  });
});
