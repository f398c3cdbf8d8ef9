import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixturePath, missingFixturesReason } from '../../../e2e/support/fixtures';
import { isStudioError } from '../../../src-shared/errors';
import { PromptTokenizers } from './index';

const fixtures = fixturePath('tokenizers');
if (!fixtures) console.warn(`[tokenizers/index.test] skipping real-file tests: ${missingFixturesReason('tokenizers/')}`);

describe.skipIf(!fixtures)('PromptTokenizers', () => {
  const dir = fixtures ?? '';
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-prompt-tok-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  /** A model folder holding links to the listed tokenizer folders only. */
  function modelWith(name: string, folders: string[]): string {
    const root = path.join(tmp, name);
    fs.mkdirSync(root);
    for (const f of folders) fs.symlinkSync(path.join(dir, f), path.join(root, f));
    return root;
  }

  it('encodes one prompt for the three encoders', async () => {
    const tok = await PromptTokenizers.load(dir);
    const r = tok.encode('a photo of a cat');
    const head = [49406, 320, 1125, 539, 320, 2368, 49407];
    expect(r.clipL).toEqual([...head, ...new Array<number>(70).fill(49407)]);
    expect(r.clipG).toEqual([...head, ...new Array<number>(70).fill(0)]);
    expect(r.t5).toHaveLength(256);
    expect(r.t5!.slice(0, 9)).toEqual([3, 9, 1202, 13, 3, 9, 1712, 1, 0]);
    expect(r.dropped).toEqual({ clip: 0, t5: 0 });
  });

  it('reports dropped tokens for a long prompt', async () => {
    const tok = await PromptTokenizers.load(dir);
    const r = tok.encode(new Array<string>(300).fill('cat').join(' '));
    expect(r.dropped).toEqual({ clip: 225, t5: 45 });
    expect(r.clipL).toHaveLength(77);
    expect(r.clipG).toHaveLength(77);
  });

  it('skips T5 when asked or when tokenizer_3/ is absent', async () => {
    const off = await PromptTokenizers.load(dir, { t5: false });
    expect(off.encode('a cat').t5).toBeUndefined();
    expect(off.encode('a cat').dropped.t5).toBe(0);
    const noT5 = await PromptTokenizers.load(modelWith('no-t5', ['tokenizer', 'tokenizer_2']));
    expect(noT5.t5).toBeUndefined();
    expect(noT5.encode('a cat').clipL[2]).toBe(2368);
  });

  it('fails with not_found naming a missing tokenizer folder', async () => {
    const root = modelWith('no-clip-g', ['tokenizer', 'tokenizer_3']);
    const err = await PromptTokenizers.load(root).catch((e: unknown) => e);
    expect(isStudioError(err, 'not_found')).toBe(true);
    expect((err as Error).message).toContain('tokenizer_2');
    expect((err as Error).message).toContain(root);
  });

  it('fails with not_found naming a missing file inside a tokenizer folder', async () => {
    const root = path.join(tmp, 'broken');
    fs.mkdirSync(path.join(root, 'tokenizer'), { recursive: true });
    fs.symlinkSync(path.join(dir, 'tokenizer', 'merges.txt'), path.join(root, 'tokenizer', 'merges.txt'));
    fs.symlinkSync(path.join(dir, 'tokenizer_2'), path.join(root, 'tokenizer_2'));
    const err = await PromptTokenizers.load(root).catch((e: unknown) => e);
    expect(isStudioError(err, 'not_found')).toBe(true);
    expect((err as Error).message).toContain('vocab.json');
    expect((err as Error).message).toContain(path.join(root, 'tokenizer'));
  });
});
