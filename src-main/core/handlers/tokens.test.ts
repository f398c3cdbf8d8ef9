import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath, missingFixturesReason } from '../../../e2e/support/fixtures';
import { TOKEN_LIMITS, TokenCounter } from './tokens';

const tokenizers = fixturePath('tokenizers');
if (!tokenizers) console.warn(`skipping models.countTokens tests: ${missingFixturesReason('tokenizers/')}`);

describe.skipIf(!tokenizers)('TokenCounter (real SD3.5 tokenizers)', () => {
  it('counts CLIP and T5 tokens of each text, past the limits too', async () => {
    const counter = new TokenCounter(async () => tokenizers!);
    const long = Array.from({ length: 100 }, (_, i) => `word${i}`).join(' ');
    const r = await counter.count({ model: 'm', texts: ['a photo of a cat', '', long] });
    expect(r.limits).toEqual({ clip: 75, t5: 255 });
    expect(TOKEN_LIMITS).toEqual({ clip: 75, t5: 255 });
    expect(r.counts[0]!.clip).toBe(5); // a · photo · of · a · cat
    expect(r.counts[0]!.t5).toBeGreaterThanOrEqual(4);
    expect(r.counts[1]).toEqual({ clip: 0, t5: 0 });
    expect(r.counts[2]!.clip).toBeGreaterThan(75);
  });

  it('a model without tokenizer_3 has no T5 count; a folder without tokenizers is a not_found error', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-tokens-'));
    try {
      for (const sub of ['tokenizer', 'tokenizer_2']) fs.cpSync(path.join(tokenizers!, sub), path.join(dir, sub), { recursive: true });
      const r = await new TokenCounter(async () => dir).count({ model: 'm', texts: ['a cat'] });
      expect(r.counts[0]!.t5).toBeNull();
      const off = await new TokenCounter(async () => tokenizers!).count({ model: 'm', texts: ['a cat'], t5: false });
      expect(off.counts[0]).toEqual({ clip: 2, t5: null });
      await expect(new TokenCounter(async () => path.join(dir, 'nope')).count({ model: 'm', texts: ['x'] })).rejects.toMatchObject({ code: 'not_found' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
