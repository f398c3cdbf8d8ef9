import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixturePath, missingFixturesReason } from '../../../e2e/support/fixtures';
import { isStudioError } from '../../../src-shared/errors';
import { T5Tokenizer } from './t5';

interface ReferenceCase {
  prompt: string;
  t5Ids: number[];
}

const fixtures = fixturePath('tokenizers');
if (!fixtures) console.warn(`[t5.test] skipping real-file tests: ${missingFixturesReason('tokenizers/')}`);

describe.skipIf(!fixtures)('T5Tokenizer on the real SD3.5 tokenizer_3/', () => {
  const dir = fixtures ?? '';
  let loaded: Promise<T5Tokenizer> | undefined;
  const load = (): Promise<T5Tokenizer> => (loaded ??= T5Tokenizer.load(path.join(dir, 'tokenizer_3')));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-t5-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('reads EOS 1 and pad 0', async () => {
    const t = await load();
    expect([t.eosId, t.padId]).toEqual([1, 0]);
  });

  it('gives every reference-ids.json case exactly, padded to 256', async () => {
    const t = await load();
    const { cases } = JSON.parse(fs.readFileSync(path.join(dir, 'reference-ids.json'), 'utf8')) as { cases: ReferenceCase[] };
    expect(cases.length).toBeGreaterThanOrEqual(12);
    for (const c of cases) {
      expect(t.rawIds(c.prompt), JSON.stringify(c.prompt)).toEqual(c.t5Ids);
      const { ids, dropped } = t.encode(c.prompt);
      expect(ids).toHaveLength(256);
      expect(ids.slice(0, c.t5Ids.length)).toEqual(c.t5Ids);
      expect(ids.slice(c.t5Ids.length).every((id) => id === 0)).toBe(true);
      expect(dropped).toBe(0);
    }
  });

  it('encodes "a photo of a cat" as 3 9 1202 13 3 9 1712 1 then zeros, and "comfy" with the real vocabulary', async () => {
    const t = await load();
    const { ids } = t.encode('a photo of a cat');
    expect(ids.slice(0, 9)).toEqual([3, 9, 1202, 13, 3, 9, 1712, 1, 0]);
    expect(t.rawIds('comfy')).toEqual([18665, 1]); // ▁comfy (ComfyUI's altered file has ▁totoro here)
  });

  it('truncates keeping the EOS and counts the dropped ids; honours another max length', async () => {
    const t = await load();
    const prompt = new Array<string>(300).fill('cat').join(' ');
    const raw = t.rawIds(prompt);
    expect(raw.length).toBe(301);
    const r = t.encode(prompt);
    expect(r.ids).toHaveLength(256);
    expect(r.ids[255]).toBe(1);
    expect(r.ids.slice(0, 255)).toEqual(raw.slice(0, 255));
    expect(r.dropped).toBe(300 - 255);
    const exact = t.encode(new Array<string>(255).fill('cat').join(' '));
    expect(exact.dropped).toBe(0);
    expect(exact.ids[255]).toBe(1);
    const short = t.encode('a photo of a cat', 4);
    expect(short).toEqual({ ids: [3, 9, 1202, 1], dropped: 4 });
    const long = t.encode('a photo of a cat', 77);
    expect(long.ids).toHaveLength(77);
  });

  it('handles a 10,000-character prompt', async () => {
    const t = await load();
    const r = t.encode('a photo of a cat, '.repeat(600).slice(0, 10_000));
    expect(r.ids).toHaveLength(256);
    expect(r.ids[255]).toBe(1);
    expect(r.dropped).toBeGreaterThan(3000);
  });

  it('fails with not_found naming the folder and file when tokenizer.json is missing', async () => {
    const folder = path.join(tmp, 'empty');
    fs.mkdirSync(folder);
    const err = await T5Tokenizer.load(folder).catch((e: unknown) => e);
    expect(isStudioError(err, 'not_found')).toBe(true);
    expect((err as Error).message).toContain('tokenizer.json');
    expect((err as Error).message).toContain(folder);
  });
});
