// Search text → FTS5: operators are words, quotes make phrases, the last word is a prefix, and no
// input — malformed syntax, quotes, a lone `*`, column filters, random garbage — ever throws.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../db';
import { buildFtsQuery, MAX_SEARCH_TERMS } from './fts';
import { Queries } from './queries';
import { seedRows } from '../../testing/history/fixtures';

describe('buildFtsQuery', () => {
  it('quotes each word, ANDs them and prefix-matches the last one', () => {
    expect(buildFtsQuery('red fox')).toEqual({ match: '{prompt} : ("red" "fox"*)', terms: ['red', 'fox'] });
    expect(buildFtsQuery('red fox ')?.match).toBe('{prompt} : ("red" "fox")');
  });

  it('keeps quoted text together as a phrase; an unclosed quote runs to the end', () => {
    expect(buildFtsQuery('"red fox" snow')?.match).toBe('{prompt} : ("red fox" "snow"*)');
    expect(buildFtsQuery('"red fox"')?.match).toBe('{prompt} : ("red fox")');
    expect(buildFtsQuery('snow "red fo')?.match).toBe('{prompt} : ("snow" "red fo"*)');
  });

  it('treats operators and syntax characters as plain text', () => {
    expect(buildFtsQuery('cats AND NOT dogs')?.match).toBe('{prompt} : ("cats" "AND" "NOT" "dogs"*)');
    expect(buildFtsQuery('NEAR(fox snow, 3)')?.match).toBe('{prompt} : ("NEAR" "fox" "snow" "3")');
    expect(buildFtsQuery('negative_prompt: blurry')?.match).toBe('{prompt} : ("negative" "prompt" "blurry"*)');
    expect(buildFtsQuery('-watermark ^start +plus')?.match).toBe('{prompt} : ("watermark" "start" "plus"*)');
    expect(buildFtsQuery('(masterpiece:1.2)')?.match).toBe('{prompt} : ("masterpiece" "1" "2")');
  });

  it('gives undefined when nothing is searchable', () => {
    for (const s of ['', ' ', '*', '"', '""', '" "', '***', '(', ')', '-', ':', '^', '🦊', '\u0301', '{}', 'AND'.slice(3)]) {
      expect(buildFtsQuery(s), JSON.stringify(s)).toBeUndefined();
    }
  });

  it('does not prefix-match a single ASCII letter, but does a single CJK character', () => {
    expect(buildFtsQuery('a')?.match).toBe('{prompt} : ("a")');
    expect(buildFtsQuery('猫')?.match).toBe('{prompt} : ("猫"*)');
    expect(buildFtsQuery('ca')?.match).toBe('{prompt} : ("ca"*)');
  });

  it('searches the chosen columns', () => {
    expect(buildFtsQuery('blurry', ['negative_prompt'])?.match).toBe('{negative_prompt} : ("blurry"*)');
    expect(buildFtsQuery('blurry', ['prompt', 'negative_prompt'])?.match).toBe('{prompt negative_prompt} : ("blurry"*)');
  });

  it('caps the number of terms', () => {
    const q = buildFtsQuery(Array.from({ length: 100 }, (_, i) => `w${i}`).join(' '));
    expect(q?.terms).toHaveLength(MAX_SEARCH_TERMS);
    expect(q?.match.endsWith('"w31")')).toBe(true); // the cut-off word is not a prefix
  });
});

describe('search against a real FTS5 index', () => {
  let db: Db;
  let queries: Queries;

  beforeAll(() => {
    db = openDatabase(':memory:');
    seedRows(db, 300, { seed: 7 });
    queries = new Queries(db);
    const gen = (id: number, prompt: string, negative: string) =>
      db.prepare(`UPDATE generations SET prompt = ?, negative_prompt = ? WHERE id = ?`).run(prompt, negative, id);
    gen(1, 'A "quoted" zorblax AND a NOT-so-small cafézz near the sea', 'glorpy, NEAR duplicates');
    gen(2, 'Ünïcödé châteauzz, 富士山の猫', 'qtext:qwatermark');
  });

  const hits = (search: string, searchIn?: 'prompt' | 'negative' | 'both') =>
    queries.page({ search, limit: 500, ...(searchIn ? { searchIn } : {}) }).items.map((i) => i.id);

  it('finds operators and punctuation-laden text as words', () => {
    expect(hits('NOT so')).toEqual([1]);
    expect(hits('"quoted" zorblax')).toEqual([1]);
    expect(hits('"quoted zorblax AND"')).toEqual([1]);
    expect(hits('NEAR', 'negative')).toEqual([1]);
    expect(hits('qtext:qwatermark', 'negative')).toEqual([2]);
  });

  it('folds case and diacritics, and prefix-matches as the user types', () => {
    expect(hits('CAFEZZ')).toEqual([1]);
    expect(hits('caféz')).toEqual([1]);
    expect(hits('unicode chateauz')).toEqual([2]);
    expect(hits('富士')).toEqual([2]);
  });

  it('searches the prompt by default, the negative prompt on request', () => {
    expect(hits('glorpy')).toEqual([]);
    expect(hits('glorpy', 'negative')).toEqual([1]);
    expect(hits('glorpy zorblax', 'both')).toEqual([1]);
  });

  it('never throws on malformed FTS syntax', () => {
    const nasty = [
      '"', '""', '"""', '*', '* *', 'fox*', '*fox', 'AND', 'OR', 'NOT', 'AND OR NOT', 'fox AND', 'OR fox', 'NOT fox',
      '-', '-fox', '--', '(', ')', '(fox', 'fox)', '((()))', 'NEAR', 'NEAR(', 'NEAR(fox sea, 2)', 'NEAR/3',
      'prompt:', 'prompt:fox', '{prompt}:fox', '{prompt negative_prompt} : fox', 'negative_prompt:blurry', '^fox',
      'fox^', '+fox', 'a:b:c', '\\', "'", '`', ';', 'DROP TABLE images;--', '\u0000', '🦊🦊', 'x'.repeat(5000),
    ];
    for (const s of nasty) {
      for (const where of ['prompt', 'negative', 'both'] as const) {
        expect(() => queries.page({ search: s, searchIn: where }), JSON.stringify(s)).not.toThrow();
      }
    }
  });

  it('reports an unsearchable search instead of silently showing nothing', () => {
    const page = queries.page({ search: '*' });
    expect(page.note).toMatch(/no letters or digits/);
    expect(page.total).toBe(300);
  });

  it('never throws on arbitrary text (property)', () => {
    const alphabet = fc.constantFrom('"', '*', '(', ')', ':', '-', '^', '+', '{', '}', ' ', 'AND', 'OR', 'NOT', 'NEAR', 'fox', 'é', '猫', '🦊', ',', '\n');
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.array(alphabet, { maxLength: 20 }).map((a) => a.join(''))), (s) => {
        const page = queries.page({ search: s, limit: 5 });
        expect(page.total).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 500 },
    );
  });
});
