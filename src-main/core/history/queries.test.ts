// Gallery queries: the plan of every hot query (EXPLAIN QUERY PLAN, no statistics needed), filters
// and totals against a brute-force answer, and keyset paging that neither repeats nor skips rows
// while rows are inserted and deleted between pages.
import { beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../db';
import { ImageRows } from './images';
import { decodeCursor, encodeCursor, Queries } from './queries';
import { seedRows } from '../../testing/history/fixtures';
import { rng } from '../../testing/history/prompts';
import { TRASH_SWEEP_SQL, TRASH_TOKEN_SQL } from './trash';
import type { GalleryQuery, ImageRecord } from './types';

function plan(db: Db, sql: string, params: unknown): string[] {
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params as Record<string, unknown>) as { detail: string }[]).map((r) => r.detail);
}

const START = Date.UTC(2024, 0, 1);
const STEP = 3_600_000; // one image an hour

describe('query plans (EXPLAIN QUERY PLAN)', () => {
  let db: Db;
  let q: Queries;

  beforeAll(() => {
    db = openDatabase(':memory:');
    seedRows(db, 2000, { start: START, stepMs: STEP });
    q = new Queries(db);
  });

  const pagePlan = (query: GalleryQuery) => {
    const { sql, params } = q.pageSql(query);
    return plan(db, sql, params);
  };

  const cases: [string, GalleryQuery, RegExp][] = [
    ['newest page', {}, /^SCAN i USING INDEX images_live_sort$/],
    ['oldest page', { sort: 'oldest' }, /^SCAN i USING INDEX images_live_sort$/],
    ['favorites only', { favoritesOnly: true }, /^SEARCH i USING INDEX images_live_favorite \(favorite=\?\)$/],
    ['model filter', { model: 'sd3.5-large' }, /^SEARCH i USING INDEX images_live_model \(model=\?\)$/],
    ['date range', { from: '2024-01-10', to: '2024-01-20' }, /^SEARCH i USING INDEX images_live_sort \(sort_key>\? AND sort_key<\?\)$/],
    ['size filter', { width: 512, height: 512 }, /^SEARCH i USING INDEX images_live_size \(width=\? AND height=\?\)$/],
  ];

  for (const [name, query, expected] of cases) {
    it(`${name}: walks its index in order, no sort, one primary-key lookup per row`, () => {
      const p = pagePlan(query);
      expect(p[0]).toMatch(expected);
      expect(p).toContain('SEARCH g USING INTEGER PRIMARY KEY (rowid=?)');
      expect(p.join('\n')).not.toMatch(/TEMP B-TREE|SCAN i$|SCAN images/);
    });
  }

  it('next page of a filtered view: still its own index, seeking past the cursor', () => {
    const views: [GalleryQuery, RegExp][] = [
      [{ favoritesOnly: true }, /^SEARCH i USING INDEX images_live_favorite \(favorite=\? AND sort_key<\?\)$/],
      [{ model: 'sd3.5-large' }, /^SEARCH i USING INDEX images_live_model \(model=\? AND sort_key<\?\)$/],
      [{ width: 512, height: 512 }, /^SEARCH i USING INDEX images_live_size \(width=\? AND height=\? AND sort_key<\?\)$/],
    ];
    for (const [view, expected] of views) {
      const first = q.page({ ...view, limit: 3 });
      expect(first.nextCursor, JSON.stringify(view)).not.toBeNull();
      const p = pagePlan({ ...view, cursor: first.nextCursor! });
      expect(p[0], JSON.stringify(view)).toMatch(expected);
      expect(p.join('\n')).not.toMatch(/TEMP B-TREE/);
    }
  });

  it('next page: seeks past the cursor in the index', () => {
    const first = q.page({ limit: 10 });
    expect(pagePlan({ cursor: first.nextCursor! })[0]).toBe('SEARCH i USING INDEX images_live_sort (sort_key<?)');
    const oldest = q.page({ limit: 10, sort: 'oldest' });
    expect(pagePlan({ sort: 'oldest', cursor: oldest.nextCursor! })[0]).toBe('SEARCH i USING INDEX images_live_sort (sort_key>?)');
  });

  it('search + order: the FTS index returns rows in gallery order (no sort), each image found by sort_key', () => {
    const combos: GalleryQuery[] = [
      { search: 'fox' },
      { search: 'fox', sort: 'oldest' },
      { search: 'fox', favoritesOnly: true },
      { search: 'fox', model: 'sd3.5-medium' },
      { search: 'fox', width: 1024, height: 1024 },
      { search: 'fox', model: 'sd3.5-medium', favoritesOnly: true, from: '2024-01-02' },
    ];
    for (const query of combos) {
      const p = pagePlan(query);
      expect(p[0], JSON.stringify(query)).toMatch(/^SCAN f VIRTUAL TABLE INDEX \d+:M/);
      expect(p[1], JSON.stringify(query)).toMatch(/^SEARCH i USING INDEX \w+ \((\w+=\? AND )*sort_key=\?\)$/);
      expect(p).toContain('SEARCH g USING INTEGER PRIMARY KEY (rowid=?)');
      expect(p.join('\n')).not.toMatch(/TEMP B-TREE/);
    }
    const first = q.page({ search: 'portrait', limit: 5 });
    const next = pagePlan({ search: 'portrait', cursor: first.nextCursor! });
    expect(next[0]).toMatch(/^SCAN f VIRTUAL TABLE INDEX \d+:M\d+</); // the cursor is pushed into FTS5
    const ranged = pagePlan({ search: 'portrait', from: '2024-01-10', to: '2024-01-20' });
    expect(ranged[0]).toMatch(/^SCAN f VIRTUAL TABLE INDEX \d+:M\d+></);
  });

  it('totals: counters for the plain, favorites and model views; FTS alone for a plain search; indexes otherwise', () => {
    expect(q.countSql({})).toEqual({ countKey: 'live' });
    expect(q.countSql({ favoritesOnly: true })).toEqual({ countKey: 'favorite' });
    expect(q.countSql({ model: 'x' })).toEqual({ countKey: 'model:x' });
    const search = q.countSql({ search: 'fox' });
    expect('sql' in search && search.sql).toMatch(/FROM prompt_fts WHERE/);
    const countPlan = (query: GalleryQuery) => {
      const c = q.countSql(query);
      if (!('sql' in c)) throw new Error('expected SQL');
      return plan(db, c.sql, c.params).join('\n');
    };
    expect(countPlan({ from: '2024-01-10', to: '2024-01-20' })).toMatch(/USING (COVERING )?INDEX images_live_sort \(sort_key>\? AND sort_key<\?\)/);
    expect(countPlan({ width: 512, height: 512 })).toMatch(/USING (COVERING )?INDEX images_live_size \(width=\? AND height=\?\)/);
    expect(countPlan({ model: 'x', favoritesOnly: true })).toMatch(/USING INDEX images_live_(model|favorite)/);
    expect(countPlan({ search: 'fox', model: 'x' })).toMatch(/^SCAN f VIRTUAL TABLE/); // FTS first, never per row
  });

  it('trash sweep and undo use the trash indexes', () => {
    expect(plan(db, TRASH_SWEEP_SQL, [0])[0]).toMatch(/^SEARCH i USING INDEX images_trash_deleted \((deleted_at>\? AND )?deleted_at<\?\)$/);
    expect(plan(db, TRASH_TOKEN_SQL, ['t'])[0]).toBe('SEARCH i USING INDEX images_trash_token (trash_token=?)');
  });
});

describe('filters and totals', () => {
  let db: Db;
  let q: Queries;
  let all: ImageRecord[];

  beforeAll(() => {
    db = openDatabase(':memory:');
    seedRows(db, 1500, { start: START, stepMs: STEP, seed: 3, favorites: 0.1 });
    db.prepare(`UPDATE images SET deleted_at = 1, trash_path = 'trash/' || id || '.png', trash_token = 't' WHERE id % 7 = 0`).run();
    q = new Queries(db);
    all = (db.prepare(`SELECT id FROM images WHERE deleted_at IS NULL`).all() as { id: number }[]).map((r) => q.item(r.id)!);
  });

  /** Every page of a query, following nextCursor. */
  function everything(query: GalleryQuery): { items: ImageRecord[]; total: number } {
    const items: ImageRecord[] = [];
    let cursor: string | undefined;
    let total = -1;
    for (let guard = 0; guard < 1000; guard++) {
      const page = q.page({ ...query, limit: 97, ...(cursor ? { cursor } : {}) });
      items.push(...page.items);
      total = page.total;
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    return { items, total };
  }

  const newestFirst = (a: ImageRecord, b: ImageRecord) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.id - a.id;
  const hasWordPrefix = (text: string, word: string) => new RegExp(`(^|[^\\p{L}\\p{N}])${word}`, 'iu').test(text);

  const cases: [string, GalleryQuery, (r: ImageRecord) => boolean][] = [
    ['everything', {}, () => true],
    ['favorites', { favoritesOnly: true }, (r) => r.favorite],
    ['model', { model: 'sd3.5-large-turbo' }, (r) => r.model === 'sd3.5-large-turbo'],
    [
      'date range',
      { from: '2024-01-15T00:00:00Z', to: new Date(Date.UTC(2024, 1, 1)) },
      (r) => r.createdAt >= '2024-01-15T00:00:00.000Z' && r.createdAt < '2024-02-01T00:00:00.000Z',
    ],
    ['size', { width: 832, height: 1216 }, (r) => r.width === 832 && r.height === 1216],
    ['search', { search: 'castle' }, (r) => hasWordPrefix(r.prompt, 'castle')],
    ['search prefix', { search: 'waterc' }, (r) => hasWordPrefix(r.prompt, 'waterc')],
    ['search two words', { search: 'misty fox' }, (r) => hasWordPrefix(r.prompt, 'misty\\b') && hasWordPrefix(r.prompt, 'fox')],
    ['search negative', { search: 'watermark', searchIn: 'negative' }, (r) => hasWordPrefix(r.negativePrompt, 'watermark')],
    [
      'search + favorites + model',
      { search: 'portrait', favoritesOnly: true, model: 'sd3.5-medium' },
      (r) => hasWordPrefix(r.prompt, 'portrait') && r.favorite && r.model === 'sd3.5-medium',
    ],
    ['search + date', { search: 'fox', from: Date.UTC(2024, 0, 20), to: Date.UTC(2024, 1, 10) }, (r) => hasWordPrefix(r.prompt, 'fox') && Date.parse(r.createdAt) >= Date.UTC(2024, 0, 20) && Date.parse(r.createdAt) < Date.UTC(2024, 1, 10)],
    ['model + favorites', { model: 'sd3.5-large', favoritesOnly: true }, (r) => r.model === 'sd3.5-large' && r.favorite],
  ];

  for (const [name, query, pred] of cases) {
    it(`${name}: exactly the matching live images, in order, with the right total`, () => {
      const expected = all.filter(pred).sort(newestFirst).map((r) => r.id);
      expect(expected.length, 'the case must select something').toBeGreaterThan(0);
      expect(expected.length, 'the case must filter something out').toBeLessThan(all.length + 1);
      const newest = everything(query);
      expect(newest.items.map((r) => r.id)).toEqual(expected);
      expect(newest.total).toBe(expected.length);
      const oldest = everything({ ...query, sort: 'oldest' });
      expect(oldest.items.map((r) => r.id)).toEqual([...expected].reverse());
    });
  }

  it('caches a search total only while nothing changes', () => {
    const db2 = openDatabase(':memory:');
    seedRows(db2, 200, { seed: 5 });
    const q2 = new Queries(db2);
    const before = q2.count({ search: 'castle' });
    expect(q2.count({ search: 'castle' })).toBe(before);
    const [id] = seedRows(db2, 1, { start: Date.UTC(2026, 0, 1), seed: 5 });
    db2.prepare(`UPDATE generations SET prompt = 'a castle of glass' WHERE id = ?`).run(id);
    expect(q2.count({ search: 'castle' })).toBe(before + 1);
    db2.prepare(`UPDATE images SET deleted_at = 1, trash_path = 'x', trash_token = 't' WHERE id = ?`).run(id);
    expect(q2.count({ search: 'castle' })).toBe(before);
  });

  it('returns items with every field the grid and the CLI need', () => {
    const item = q.page({ limit: 1 }).items[0]!;
    expect(Object.keys(item).sort()).toEqual(
      ['bytes', 'createdAt', 'favorite', 'guidance', 'height', 'id', 'model', 'negativePrompt', 'path', 'pixelHeight', 'pixelWidth', 'prompt', 'seed', 'source', 'steps', 'width'].sort(),
    );
    expect(item.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('rejects bad limits, cursors and dates with a clear invalid_input', () => {
    for (const bad of [{ limit: 0 }, { limit: 501 }, { limit: 1.5 }, { cursor: 'garbage!' }, { cursor: encodeCursor('oldest', 5) }, { from: 'yesterday-ish' }, { width: -1 }]) {
      expect(() => q.page(bad as GalleryQuery), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'invalid_input' }));
    }
    expect(decodeCursor(encodeCursor('newest', 1_700_000_000_000_123), 'newest')).toBe(1_700_000_000_000_123);
  });
});

describe('keyset paging while the gallery changes', () => {
  for (const sort of ['newest', 'oldest'] as const) {
    it(`${sort}: no duplicates, no gaps, order kept while rows are inserted (new and back-dated) and deleted`, () => {
      const db = openDatabase(':memory:');
      const ids = seedRows(db, 600, { start: START, stepMs: 60_000, seed: 11 });
      const q = new Queries(db);
      const r = rng(99);
      const deleted = new Set<number>();
      const inserted: { id: number; createdAt: number }[] = [];
      const seen: ImageRecord[] = [];
      let cursor: string | undefined;
      let lastKey: number | undefined;
      const insertAt = (createdAt: number) => {
        const [id] = seedRows(db, 1, { start: createdAt, seed: Math.floor(r() * 1e9) });
        inserted.push({ id: id!, createdAt });
      };
      for (let n = 0; n < 200; n++) {
        const page = q.page({ sort, limit: 23, ...(cursor ? { cursor } : {}) });
        seen.push(...page.items);
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
        const key = decodeCursor(cursor, sort);
        if (lastKey !== undefined) expect(sort === 'newest' ? key < lastKey : key > lastKey).toBe(true);
        lastKey = key;
        // Between pages: a new image (now), a back-dated one (an import), an image at the cursor's
        // very millisecond, and a delete of a row not yet seen.
        insertAt(START + 600 * 60_000 + n * 1000);
        insertAt(START + Math.floor(r() * 600) * 60_000);
        insertAt(Math.floor(key / 1000));
        const victim = ids[Math.floor(r() * ids.length)]!;
        if (!seen.some((s) => s.id === victim)) {
          db.prepare(`UPDATE images SET deleted_at = 1, trash_path = 'x', trash_token = 't' WHERE id = ?`).run(victim);
          deleted.add(victim);
        }
      }
      const seenIds = seen.map((s) => s.id);
      expect(new Set(seenIds).size).toBe(seenIds.length); // no duplicates
      for (const id of ids) if (!deleted.has(id)) expect(seenIds).toContain(id); // no gaps
      for (const id of deleted) expect(seenIds).not.toContain(id);
      const keys = seen.map((s) => new ImageRows(db).get(s.id)!.sort_key);
      const sorted = [...keys].sort((a, b) => (sort === 'newest' ? b - a : a - b));
      expect(keys).toEqual(sorted); // strictly in gallery order
      // Rows inserted behind the cursor (in the part still to come) were found too.
      const behind = inserted.filter((x) => seenIds.includes(x.id));
      expect(behind.length).toBeGreaterThan(0);
      expect(inserted.length).toBeGreaterThan(0);
    });
  }

  it('images of the same millisecond get distinct, ordered sort keys', () => {
    const db = openDatabase(':memory:');
    const rows = new ImageRows(db);
    const ids = seedRows(db, 5, { start: START, stepMs: 0 });
    const keys = ids.map((id) => rows.get(id)!.sort_key);
    expect(keys).toEqual([START * 1000, START * 1000 + 1, START * 1000 + 2, START * 1000 + 3, START * 1000 + 4]);
    const q = new Queries(db);
    expect(q.page({ limit: 2 }).items.map((i) => i.id)).toEqual([ids[4], ids[3]]);
    const p1 = q.page({ limit: 2 });
    expect(q.page({ limit: 2, cursor: p1.nextCursor! }).items.map((i) => i.id)).toEqual([ids[2], ids[1]]);
  });
});
