// compare.export streamed (issue 18 §3), over a real HTTP + WebSocket server on 127.0.0.1 with a real
// StudioCore: the JSON reply stays small however large the grid is, and its one-time URL serves the PNG once.
import http from 'node:http';
import sharp from 'sharp';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { compareExportSchema } from '../../src-shared/schemas/compare';
import { nodeAdapters } from '../core/node-adapters';
import { StudioCore } from '../core/studio';
import { makeMeta, makePixels } from '../testing/history/fixtures';
import { removeTempDirs, tempDir } from '../testing/temp';
import { createDispatcher } from './dispatch';
import { startHttpTransport, type HttpTransport } from './http';

const TOKEN = 'export-download-test-token';
let core: StudioCore;
let server: HttpTransport;

beforeEach(async () => {
  const env = { HF_HOME: tempDir(), HF_ENDPOINT: 'http://127.0.0.1:9', HF_TOKEN: '' };
  const dataDir = tempDir('sd35-export-download-');
  core = await StudioCore.open({ dataDir, adapters: nodeAdapters(env), env, runtime: 'browser', appVersion: '0.0.0-test' });
  server = await startHttpTransport({ dispatch: createDispatcher(core.api), events: core.events, dataRoot: dataDir, rendererDir: tempDir(), downloads: core.downloads, token: TOKEN });
});
afterEach(async () => {
  await server.close();
  core.close();
});
afterAll(removeTempDirs);

function get(p: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: server.port, path: p, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

/** One call over the UI's WebSocket; the reply's raw text and its parsed body. */
async function wsCall(method: string, params: unknown): Promise<{ text: string; reply: { ok: boolean; result?: unknown; error?: { code: string } } }> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${TOKEN}`);
  try {
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    const text = new Promise<string>((r) => ws.once('message', (d) => r(String(d))));
    ws.send(JSON.stringify({ type: 'call', id: 1, method, params }));
    const t = await text;
    return { text: t, reply: JSON.parse(t) };
  } finally {
    ws.terminate();
  }
}

describe('compare.export as a one-time download (browser mode)', () => {
  it('16 images: the reply is a few hundred bytes; its URL serves the PNG once (attachment, server-chosen name), then 410', async () => {
    const ids: number[] = [];
    for (let k = 0; k < 16; k++) {
      const meta = makeMeta({ seed: String(100 + k), width: 256, height: 256 });
      ids.push((await core.history.saveImage({ pixels: makePixels(256, 256, k), meta })).id);
    }
    const { id } = await core.api['compare.create']({ imageIds: ids });
    const { text, reply } = await wsCall('compare.export', { id });
    expect(reply.ok).toBe(true);
    expect(Buffer.byteLength(text)).toBeLessThan(2048);
    const out = compareExportSchema.parse(reply.result);
    if (out.delivery !== 'download') throw new Error(`expected a download, got ${out.delivery}`);
    expect(out).toMatchObject({ fileName: `comparison-${id}.png`, mimeType: 'image/png' });
    expect(out.expiresInMs).toBeGreaterThan(0);

    // The studio token is required as on /media/; a refused request does not spend the download.
    expect((await get(out.url)).status).toBe(401);
    expect((await get(`${out.url}?token=wrong`)).status).toBe(401);

    const first = await get(`${out.url}?token=${TOKEN}`);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('image/png');
    expect(first.headers['content-disposition']).toBe(`attachment; filename="comparison-${id}.png"`);
    expect(Number(first.headers['content-length'])).toBe(first.body.length);
    const meta = await sharp(first.body).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', out.width, out.height]);
    // 16 cells of 256² in a grid: far more bytes than the reply that named them.
    expect(first.body.length).toBeGreaterThan(100 * Buffer.byteLength(text));

    expect((await get(`${out.url}?token=${TOKEN}`)).status).toBe(410);
    expect((await get(`/download/${'A'.repeat(43)}?token=${TOKEN}`)).status).toBe(404);
  }, 60_000);

  it('a newer export retires the unfetched one (at most one download waits): the old URL is 410, the new one works', async () => {
    const ids: number[] = [];
    for (let k = 0; k < 2; k++) ids.push((await core.history.saveImage({ pixels: makePixels(64, 64, k), meta: makeMeta({ seed: String(k), width: 64, height: 64 }) })).id);
    const { id } = await core.api['compare.create']({ imageIds: ids });
    const a = compareExportSchema.parse((await wsCall('compare.export', { id })).reply.result);
    const b = compareExportSchema.parse((await wsCall('compare.export', { id })).reply.result);
    if (a.delivery !== 'download' || b.delivery !== 'download') throw new Error('expected downloads');
    expect(a.url).not.toBe(b.url);
    expect((await get(`${a.url}?token=${TOKEN}`)).status).toBe(410);
    expect((await get(`${b.url}?token=${TOKEN}`)).status).toBe(200);
  }, 60_000);
});
