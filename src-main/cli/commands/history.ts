// `sd35-studio history list|import`: the gallery from the command line.
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../../src-shared/errors';
import { progress } from '../../../src-shared/progress';
import { intOption, stringOption } from '../args';
import { defineCommand, type Command } from '../command';
import { createProgressBar } from '../progress';

const IMPORT_BATCH = 50;

function line(item: { id: number; createdAt: string; prompt: string; negativePrompt: string; seed: string | null; steps: number | null; guidance: number | null; width: number; height: number; pixelWidth: number; pixelHeight: number; model: string; path: string }, dataDir: string) {
  return {
    id: item.id,
    createdAt: item.createdAt,
    prompt: item.prompt,
    negativePrompt: item.negativePrompt,
    seed: item.seed,
    steps: item.steps,
    guidance: item.guidance,
    width: item.width,
    height: item.height,
    pixelWidth: item.pixelWidth,
    pixelHeight: item.pixelHeight,
    model: item.model,
    path: path.join(dataDir, ...item.path.split('/')),
  };
}

/** "892x1156", or "892x1156 (file 1784x2312)" when the file is not the size it was generated at. */
function sizeText(item: { width: number; height: number; pixelWidth: number; pixelHeight: number }): string {
  const size = `${item.width}x${item.height}`;
  return item.pixelWidth === item.width && item.pixelHeight === item.height ? size : `${size} (file ${item.pixelWidth}x${item.pixelHeight})`;
}

export const historyListCommand: Command = defineCommand({
  path: ['history', 'list'],
  usage: 'history list [--search Q] [--limit N]',
  summary: 'List generated and imported images, newest first',
  options: [
    { name: 'search', type: 'string', valueName: 'Q', description: 'Search prompts (prefix matching, like the gallery)' },
    { name: 'limit', type: 'string', valueName: 'N', description: 'At most N images (default 50, up to 100000)' },
  ],
  async run(ctx) {
    const limit = intOption(ctx.args, 'limit', { min: 1, max: 100_000 }) ?? 50;
    const search = stringOption(ctx.args, 'search');
    const core = await ctx.openCore();
    let cursor: string | undefined;
    let left = limit;
    let shown = 0;
    while (left > 0) {
      const page = core.history.query({ ...(search ? { search } : {}), limit: Math.min(500, left), ...(cursor ? { cursor } : {}) });
      if (page.note) ctx.out.progress(page.note);
      for (const item of page.items) {
        const l = line(item, core.layout.root);
        ctx.out.item(l, `${String(item.id).padStart(6)}  ${item.createdAt.slice(0, 16).replace('T', ' ')}  ${sizeText(item)}  seed ${item.seed ?? '-'}  ${item.prompt.replace(/\s+/g, ' ').slice(0, 80)}`);
        shown++;
      }
      left -= page.items.length;
      if (!page.nextCursor || page.items.length === 0) break;
      cursor = page.nextCursor;
    }
    if (shown === 0) ctx.out.text(search ? `No images match "${search}".` : 'No images yet.');
    return 0;
  },
});

export const historyImportCommand: Command = defineCommand({
  path: ['history', 'import'],
  usage: 'history import <png…>',
  summary: 'Import PNG files from other tools (their parameters are read)',
  options: [],
  async run(ctx) {
    if (ctx.rest.length === 0) throw new StudioError('invalid_input', 'Name one or more PNG files to import.');
    const core = await ctx.openCore();
    const files = ctx.rest.map((f) => ({ path: path.resolve(f) }));
    const missing = files.filter((f) => !fs.existsSync(f.path));
    // In batches, so a long list shows its progress (the one progress shape, task 'import').
    const bar = createProgressBar();
    let imported = 0;
    const started = Date.now();
    for (let i = 0; i < files.length; i += IMPORT_BATCH) {
      const result = await core.api['gallery.import']({ files: files.slice(i, i + IMPORT_BATCH) });
      bar.end();
      for (const item of result.imported) ctx.out.item({ imported: true, ...line(item, core.layout.root) }, `imported ${item.id}: ${item.prompt.replace(/\s+/g, ' ').slice(0, 80)}`);
      for (const r of result.rejected) ctx.out.item({ imported: false, file: r.name, reason: r.reason }, `rejected ${r.name}: ${r.reason}`);
      imported += result.imported.length;
      const done = Math.min(files.length, i + IMPORT_BATCH);
      const elapsed = Math.max(1, Date.now() - started);
      if (files.length > IMPORT_BATCH) {
        bar.draw(progress('import', { status: done === files.length ? 'done' : 'running', done, total: files.length, rate: (done * 1000) / elapsed, etaMs: ((files.length - done) * elapsed) / done }));
      }
    }
    bar.end();
    if (imported === 0) return missing.length === files.length ? 7 : 2;
    return 0;
  },
});
