import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { fixturePath, missingFixturesReason } from '../../../e2e/support/fixtures';
import { isStudioError } from '../../../src-shared/errors';
import { ClipTokenizer, cleanClipText, htmlUnescape } from './clip';

interface ReferenceCase {
  prompt: string;
  clipIds: number[];
  t5Ids: number[];
}

const fixtures = fixturePath('tokenizers');
if (!fixtures) console.warn(`[clip.test] skipping real-file tests: ${missingFixturesReason('tokenizers/')}`);

describe('htmlUnescape (Python html.unescape semantics)', () => {
  // Expected values printed by CPython 3.11's html.unescape.
  const expected: Record<string, string> = {
    '&amp;': '&', '&amp;amp;': '&amp;', 'AT&amp;T': 'AT&T', '&lt;tag&gt;': '<tag>', '&quot;q&quot;': '"q"', '&#39;': "'",
    '&#x27;': "'", '&#X41;&#65;': 'AA', '&#128512;': '\ud83d\ude00', '&#0;': '\ufffd', '&#13;': '\r', '&#150;': '\u2013',
    '&#x80;': '\u20ac', '&#xD800;': '\ufffd', '&#1114112;': '\ufffd', '&#99999999999999;': '\ufffd', '&#11;': '',
    '&#xFFFF;': '', '&nbsp;': '\u00a0', '&eacute;': '\u00e9', '&eacute': '\u00e9', '&eacutex': '\u00e9x', '&notit;': '\u00acit;',
    '&notin;': '\u2209', '&copy2024': '\u00a92024', '&hellip;': '\u2026', '&mdash;': '\u2014', '&bogus;': '&bogus;', '&': '&',
    'a & b': 'a & b', '&#': '&#', '&#x;': '&#x;', '&#;': '&#;', '&amp': '&', '&AMP;': '&', '&ampx': '&x', '&lang;': '\u27e8',
    '&apos;': "'", 'fish &chips': 'fish &chips', '&Eacute;&EACUTE;': '\u00c9&EACUTE;', '&#65': 'A', '&#x41g': 'Ag',
  };
  it.each(Object.entries(expected))('%j → %j', (input, output) => {
    expect(htmlUnescape(input)).toBe(output);
  });
});

describe('cleanClipText', () => {
  it('unescapes twice, collapses whitespace (Python\'s set), trims and lower-cases', () => {
    expect(cleanClipText('  A\t\n PHOTO\u3000of\u00a0a\x85cat  ')).toBe('a photo of a cat');
    expect(cleanClipText('Tom &amp;amp; Jerry')).toBe('tom & jerry');
    expect(cleanClipText('&amp;amp;amp;')).toBe('&amp;');
    expect(cleanClipText('a&nbsp;&nbsp;cat')).toBe('a cat');
    expect(cleanClipText('\ufeffcat')).toBe('cat'); // ftfy removes the BOM (JavaScript would call it whitespace)
  });

  it('applies NFC and ftfy\'s simple repairs (quotes, ligatures, width, control characters)', () => {
    expect(cleanClipText('cafe\u0301')).toBe('caf\u00e9');
    expect(cleanClipText('\u201cit\u2019s\u201d')).toBe('"it\'s"');
    expect(cleanClipText('\ufb01ne \ufb02ower')).toBe('fine flower');
    expect(cleanClipText('\uff21\uff22\uff23\u3000\uff11')).toBe('abc 1');
    expect(cleanClipText('a\x00b\x1fc')).toBe('abc');
  });
});

describe.skipIf(!fixtures)('ClipTokenizer on the real SD3.5 files', () => {
  const dir = fixtures ?? '';
  const refs = (): ReferenceCase[] =>
    (JSON.parse(fs.readFileSync(path.join(dir, 'reference-ids.json'), 'utf8')) as { cases: ReferenceCase[] }).cases;
  const load = (() => {
    const cache = new Map<string, Promise<ClipTokenizer>>();
    return (name: string): Promise<ClipTokenizer> => {
      if (!cache.has(name)) cache.set(name, ClipTokenizer.load(path.join(dir, name)));
      return cache.get(name)!;
    };
  })();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-clip-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('reads BOS, EOS and the pad token of each folder (tokenizer/ pads with 49407, tokenizer_2/ with 0)', async () => {
    const l = await load('tokenizer');
    const g = await load('tokenizer_2');
    expect([l.bosId, l.eosId, l.padId]).toEqual([49406, 49407, 49407]);
    expect([g.bosId, g.eosId, g.padId]).toEqual([49406, 49407, 0]);
  });

  it('gives every reference-ids.json case exactly (openai simple_tokenizer ids)', async () => {
    const cases = refs();
    expect(cases.length).toBeGreaterThanOrEqual(12);
    for (const name of ['tokenizer', 'tokenizer_2']) {
      const t = await load(name);
      for (const c of cases) {
        expect([t.bosId, ...t.bpeIds(c.prompt), t.eosId], `${name}: ${JSON.stringify(c.prompt)}`).toEqual(c.clipIds);
        const { ids, dropped } = t.encode(c.prompt);
        const content = c.clipIds.slice(1, -1);
        const expectedIds = [49406, ...content.slice(0, 75), 49407];
        while (expectedIds.length < 77) expectedIds.push(t.padId);
        expect(ids).toEqual(expectedIds);
        expect(dropped).toBe(Math.max(0, content.length - 75));
      }
    }
  });

  it('pads "a photo of a cat" to 77 with each folder\'s pad token', async () => {
    const l = (await load('tokenizer')).encode('a photo of a cat');
    const g = (await load('tokenizer_2')).encode('a photo of a cat');
    const head = [49406, 320, 1125, 539, 320, 2368, 49407];
    expect(l).toEqual({ ids: [...head, ...new Array<number>(70).fill(49407)], dropped: 0 });
    expect(g).toEqual({ ids: [...head, ...new Array<number>(70).fill(0)], dropped: 0 });
  });

  it('truncates to BOS + 75 + EOS and counts the dropped BPE ids', async () => {
    const t = await load('tokenizer');
    const cat = t.bpeIds('cat')[0]!;
    for (const [words, dropped] of [
      [74, 0],
      [75, 0],
      [76, 1],
      [100, 25],
    ] as const) {
      const r = t.encode(new Array<string>(words).fill('cat').join(' '));
      expect(r.ids).toHaveLength(77);
      expect(r.dropped).toBe(dropped);
      expect(r.ids[0]).toBe(49406);
      expect(r.ids[Math.min(words, 75)]).toBe(cat);
      expect(r.ids[Math.min(words, 75) + 1]).toBe(49407);
    }
  });

  it('keeps a run of CJK letters as one word (not split per character)', async () => {
    const t = await load('tokenizer');
    const run = t.bpeIds('日本語');
    const perChar = [...t.bpeIds('日'), ...t.bpeIds('本'), ...t.bpeIds('語')];
    expect(run).not.toEqual(perChar); // per-character words would each end with </w>
    expect(t.bpeIds('日本語 美しい')).toEqual([...run, ...t.bpeIds('美しい')]);
    expect(t.bpeIds('日本語、美しい')).toEqual([...run, ...t.bpeIds('、'), ...t.bpeIds('美しい')]);
  });

  it('treats entities, case, whitespace, NFC and curly quotes as openai does', async () => {
    const t = await load('tokenizer');
    expect(t.bpeIds('Tom &amp; Jerry')).toEqual(t.bpeIds('tom & jerry'));
    expect(t.bpeIds('Tom &amp;amp; Jerry')).toEqual(t.bpeIds('tom & jerry'));
    expect(t.bpeIds('&lt;tag&gt;')).toEqual(t.bpeIds('<tag>'));
    expect(t.bpeIds('it&#39;s')).toEqual(t.bpeIds("it's"));
    expect(t.bpeIds('A  PHOTO\n\nof\ta cat ')).toEqual(t.bpeIds('a photo of a cat'));
    expect(t.bpeIds('cafe\u0301')).toEqual(t.bpeIds('caf\u00e9'));
    expect(t.bpeIds('\u201ccat\u201d')).toEqual(t.bpeIds('"cat"'));
    expect(t.bpeIds("cat's")).toEqual([...t.bpeIds('cat'), ...t.bpeIds("'s")]);
    expect(t.bpeIds('<|endoftext|>')).toEqual([49407]);
    expect(t.bpeIds('1234')).toHaveLength(4); // digits are single-character words
  });

  it('handles a 10,000-character prompt: 77 ids, the overflow counted (its speed: npm run bench -- parsers)', async () => {
    const t = await load('tokenizer');
    for (const prompt of ['a photo of a cat, '.repeat(600).slice(0, 10_000), '日本語のプロンプト'.repeat(1200).slice(0, 10_000)]) {
      const r = t.encode(prompt);
      expect(r.ids).toHaveLength(77);
      expect(r.ids[76]).toBe(49407);
      expect(r.dropped).toBe(t.bpeIds(prompt).length - 75);
      expect(r.dropped).toBeGreaterThan(1000);
    }
  });

  it('BPE equals openai\'s merge-all-occurrences loop on random words', async () => {
    const t = await load('tokenizer');
    const merges = fs.readFileSync(path.join(dir, 'tokenizer', 'merges.txt'), 'utf8').split('\n').slice(1).filter(Boolean);
    const ranks = new Map(merges.map((m, i) => [m, i] as const));
    const vocab = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer', 'vocab.json'), 'utf8')) as Record<string, number>;
    // openai's bpe(): find the lowest-ranked adjacent pair, merge all its occurrences left to right, repeat.
    const naive = (token: string): number[] => {
      let word = [...token.slice(0, -1)].concat(token.slice(-1) + '</w>');
      for (;;) {
        let best: [string, string] | undefined;
        let bestRank = Infinity;
        for (let i = 0; i + 1 < word.length; i++) {
          const r = ranks.get(`${word[i]} ${word[i + 1]}`);
          if (r !== undefined && r < bestRank) {
            bestRank = r;
            best = [word[i]!, word[i + 1]!];
          }
        }
        if (!best) break;
        const merged: string[] = [];
        for (let i = 0; i < word.length; i++) {
          if (word[i] === best[0] && i + 1 < word.length && word[i + 1] === best[1]) {
            merged.push(best[0] + best[1]);
            i++;
          } else merged.push(word[i]!);
        }
        word = merged;
        if (word.length === 1) break;
      }
      return word.map((s) => vocab[s]!);
    };
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{1,40}$/), (w) => {
        expect(t.bpeIds(w)).toEqual(naive(w));
      }),
      { numRuns: 2000 },
    );
  });

  it('reads the pad token from the folder\'s files instead of assuming it', async () => {
    const folder = path.join(tmp, 'custom');
    fs.mkdirSync(folder);
    for (const f of ['vocab.json', 'merges.txt']) fs.symlinkSync(path.join(dir, 'tokenizer', f), path.join(folder, f));
    fs.writeFileSync(path.join(folder, 'special_tokens_map.json'), JSON.stringify({ pad_token: 'cat</w>' }));
    const t = await ClipTokenizer.load(folder);
    expect(t.padId).toBe(2368);
    expect(t.encode('a').ids.slice(2, 5)).toEqual([49407, 2368, 2368]);
    // tokenizer_config.json is read when special_tokens_map.json has no pad token
    fs.writeFileSync(path.join(folder, 'special_tokens_map.json'), JSON.stringify({}));
    fs.writeFileSync(path.join(folder, 'tokenizer_config.json'), JSON.stringify({ pad_token: '!' }));
    expect((await ClipTokenizer.load(folder)).padId).toBe(0);
  });

  it('fails with not_found naming the folder and file when a file is missing', async () => {
    const folder = path.join(tmp, 'incomplete');
    fs.mkdirSync(folder);
    fs.symlinkSync(path.join(dir, 'tokenizer', 'vocab.json'), path.join(folder, 'vocab.json'));
    const err = await ClipTokenizer.load(folder).catch((e: unknown) => e);
    expect(isStudioError(err, 'not_found')).toBe(true);
    expect((err as Error).message).toContain('merges.txt');
    expect((err as Error).message).toContain(folder);
  });
});
