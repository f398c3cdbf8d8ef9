// Browser mode under attack, against a real HTTP + WebSocket server on
// 127.0.0.1 in this process: hostile WebSocket frames end only their socket, files that vanish
// while served and aborted downloads neither crash the server nor leak descriptors, a client that
// never reads is cut off, calls per socket are bounded, and a malformed method name is a 400.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import crypto from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { RawReply } from '../../src-shared/client';
import { EventBus } from '../core/events';
import type { MediaSource } from '../core/media';
import { removeTempDirs, tempDir } from '../testing/temp';
import { nodeAdapters } from '../core/node-adapters';
import { StudioCore } from '../core/studio';
import { sampleMeta } from '../testing/contract-samples';
import { createDispatcher } from './dispatch';
import { MAX_CALLS_IN_FLIGHT, startHttpTransport, type HttpTransport } from './http';
import { pollUntil } from '../testing/poll';

const TOKEN = 'test-token-0123456789abcdef';
const IMAGE_BYTES = 4 * 1024 * 1024;
const BIG_REPLY = 'x'.repeat(4 * 1024 * 1024);

let server: HttpTransport;
let dataRoot: string;
const logs: string[] = [];
let running = 0;
let maxRunning = 0;
let dispatched = 0;
let releaseSlow: (() => void)[] = [];

async function dispatch(method: unknown): Promise<RawReply> {
  dispatched++;
  running++;
  maxRunning = Math.max(maxRunning, running);
  try {
    if (method === 'slow') await new Promise<void>((r) => releaseSlow.push(r));
    if (method === 'big') return { ok: true, result: BIG_REPLY };
    return { ok: true, result: 'pong' };
  } finally {
    running--;
  }
}

beforeAll(async () => {
  dataRoot = tempDir();
  const rendererDir = path.join(dataRoot, 'renderer');
  for (const d of ['images', 'thumbs', 'trash']) fs.mkdirSync(path.join(dataRoot, d), { recursive: true });
  fs.mkdirSync(rendererDir, { recursive: true });
  fs.writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>t</title>');
  fs.writeFileSync(path.join(dataRoot, 'images', '1.png'), crypto.randomBytes(IMAGE_BYTES));
  const media: MediaSource = {
    imagePath: (id) => path.join(dataRoot, 'images', `${id}.png`),
    thumbPath: () => undefined,
  };
  server = await startHttpTransport({ dispatch, events: new EventBus(), dataRoot, rendererDir, media, token: TOKEN, log: (m) => logs.push(m) });
});

afterEach(() => {
  vi.restoreAllMocks();
  for (const r of releaseSlow) r();
  releaseSlow = [];
});

afterAll(async () => {
  await server?.close();
  removeTempDirs();
});

function get(p: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: server.port, path: p }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
      })
      .on('error', reject);
  });
}

/** One API call over a fresh WebSocket (the server still answers). */
async function wsCall(method = 'ping'): Promise<unknown> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${TOKEN}`);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const reply = new Promise<unknown>((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)))));
    ws.send(JSON.stringify({ type: 'call', id: 7, method, params: {} }));
    return await reply;
  } finally {
    ws.terminate();
  }
}

/** A WebSocket opened by hand on a raw TCP socket: after the 101, the caller writes raw frames. */
async function rawWebSocket(port = server.port, token = TOKEN): Promise<net.Socket> {
  const sock = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve());
    sock.once('error', reject);
  });
  const key = crypto.randomBytes(16).toString('base64');
  sock.write(
    `GET /ws?token=${token} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await new Promise<void>((resolve, reject) => {
    let head = '';
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        sock.off('data', onData);
        if (head.startsWith('HTTP/1.1 101')) resolve();
        else reject(new Error(head.split('\r\n')[0]));
      }
    };
    sock.on('data', onData);
  });
  return sock;
}

/** A client frame: FIN + opcode (+ extra first-byte bits), masked unless told otherwise. */
function frame(opcode: number, payload: Buffer, o: { masked?: boolean; firstByteBits?: number; declaredLength?: number } = {}): Buffer {
  const masked = o.masked ?? true;
  const len = o.declaredLength ?? payload.length;
  const head: number[] = [0x80 | (o.firstByteBits ?? 0) | opcode];
  const maskBit = masked ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (len < 126) head.push(maskBit | len);
  else if (len < 65536) {
    head.push(maskBit | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(len);
  } else {
    head.push(maskBit | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(BigInt(len));
  }
  const key = masked ? crypto.randomBytes(4) : Buffer.alloc(0);
  const body = Buffer.from(payload);
  if (masked) for (let i = 0; i < body.length; i++) body[i]! ^= key[i % 4]!;
  return Buffer.concat([Buffer.from(head), ext, key, body]);
}

function closed(sock: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (sock.destroyed) return resolve();
    sock.resume();
    sock.once('close', () => resolve());
  });
}

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** Checks `predicate` every 20 ms, at most timeoutMs / 20 times (bounded by checks, not by the clock). */
function until(predicate: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  return pollUntil(predicate, Math.ceil(timeoutMs / 20), 20);
}

describe('hostile WebSocket frames', () => {
  const call = Buffer.from(JSON.stringify({ type: 'call', id: 1, method: 'ping', params: {} }));
  it.each([
    ['invalid UTF-8 in a text frame', frame(0x1, Buffer.from([0xc3, 0x28, 0xff, 0xfe]))],
    ['an unmasked client frame', frame(0x1, call, { masked: false })],
    ['a reserved opcode', frame(0x3, call)],
    ['RSV bits without an extension', frame(0x1, call, { firstByteBits: 0x40 })],
    ['RSV2/RSV3 bits', frame(0x1, call, { firstByteBits: 0x30 })],
    ['more than 16 MiB declared', frame(0x2, Buffer.alloc(16), { declaredLength: 17 * 1024 * 1024 })],
  ])('%s ends that socket and the server keeps serving', async (_name, bytes) => {
    logs.length = 0;
    const sock = await rawWebSocket();
    const end = closed(sock);
    sock.write(bytes);
    await end;
    // The socket's error was handled (logged), not left to crash the process.
    expect(logs.some((l) => l.startsWith('ws: '))).toBe(true);
    expect(await wsCall()).toMatchObject({ type: 'reply', id: 7, ok: true, result: 'pong' });
    expect((await get('/')).status).toBe(200);
  });
});

describe('files that vanish and downloads that are aborted', () => {
  it('a media file deleted between its check and its read answers 404, and the server keeps serving', async () => {
    const victim = path.join(dataRoot, 'images', '2.png');
    fs.writeFileSync(victim, crypto.randomBytes(1024));
    const realStat = fs.promises.stat.bind(fs.promises);
    vi.spyOn(fs.promises, 'stat').mockImplementation(async (p, opts) => {
      const st = await realStat(p, opts);
      if (String(p) === victim) fs.rmSync(victim, { force: true });
      return st;
    });
    expect((await get(`/media/image/2?token=${TOKEN}`)).status).toBe(404);
    vi.restoreAllMocks();
    expect((await get(`/media/image/1?token=${TOKEN}`)).body.length).toBe(IMAGE_BYTES);
  });

  it('a renderer file deleted between its check and its read answers 404, and the server keeps serving', async () => {
    const victim = path.join(dataRoot, 'renderer', 'gone.js');
    fs.writeFileSync(victim, 'void 0;');
    const realStat = fs.promises.stat.bind(fs.promises);
    vi.spyOn(fs.promises, 'stat').mockImplementation(async (p, opts) => {
      const st = await realStat(p, opts);
      if (String(p) === victim) fs.rmSync(victim, { force: true });
      return st;
    });
    expect((await get('/gone.js')).status).toBe(404);
    vi.restoreAllMocks();
    expect((await get('/')).status).toBe(200);
  });

  it('100 aborted media downloads leave no descriptor open, and the server still answers', async () => {
    // Warm up (lazy handles of the first request are not leaks).
    expect((await get(`/media/image/1?token=${TOKEN}`)).status).toBe(200);
    await until(() => false, 100);
    const baseline = openFds();
    for (let i = 0; i < 100; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: server.port, path: `/media/image/1?token=${TOKEN}`, agent: false }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? resolve() : reject(e)));
      });
    }
    const settled = await until(() => openFds() <= baseline + 2);
    expect({ settled, open: openFds(), baseline }).toMatchObject({ settled: true });
    expect((await get(`/media/image/1?token=${TOKEN}`)).body.length).toBe(IMAGE_BYTES);
    expect(await wsCall()).toMatchObject({ ok: true });
  });
});

describe('backpressure', () => {
  it(`runs at most ${MAX_CALLS_IN_FLIGHT} calls of one socket at once, and answers all of them`, async () => {
    maxRunning = 0;
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${TOKEN}`);
    await new Promise((r) => ws.once('open', r));
    const replies: unknown[] = [];
    ws.on('message', (d) => replies.push(JSON.parse(String(d))));
    const total = MAX_CALLS_IN_FLIGHT + 8;
    for (let i = 0; i < total; i++) ws.send(JSON.stringify({ type: 'call', id: i, method: 'slow', params: {} }));
    await until(() => releaseSlow.length >= MAX_CALLS_IN_FLIGHT);
    await until(() => false, 100);
    expect(releaseSlow.length).toBe(MAX_CALLS_IN_FLIGHT);
    while (replies.length < total) {
      for (const r of releaseSlow.splice(0)) r();
      if (!(await until(() => releaseSlow.length > 0 || replies.length === total, 5000))) break;
    }
    expect(replies).toHaveLength(total);
    expect(maxRunning).toBe(MAX_CALLS_IN_FLIGHT);
    ws.terminate();
  });

  it('disconnects a client that never reads its replies', async () => {
    dispatched = 0;
    logs.length = 0;
    const sock = await rawWebSocket();
    sock.pause();
    const call = (id: number) => frame(0x1, Buffer.from(JSON.stringify({ type: 'call', id, method: 'big', params: {} })));
    for (let i = 0; i < 60; i++) sock.write(call(i));
    const cut = await until(() => logs.some((l) => l.includes('stopped reading')), 20_000);
    expect(cut).toBe(true);
    expect(dispatched).toBeLessThan(60);
    sock.destroy();
    expect(await wsCall()).toMatchObject({ ok: true });
  });
});

describe('a file that fails while it is streamed', () => {
  it('ends that response, logs it, closes the descriptor, and the server keeps serving', async () => {
    expect((await get(`/media/image/1?token=${TOKEN}`)).status).toBe(200);
    await until(() => false, 100);
    const baseline = openFds();
    // The real read stream of the real file handle, failing after its first chunk (an EIO mid-file).
    const probe = await fs.promises.open(path.join(dataRoot, 'images', '1.png'), 'r');
    const proto = Object.getPrototypeOf(probe) as { createReadStream: (...a: unknown[]) => fs.ReadStream };
    await probe.close();
    const real = proto.createReadStream;
    let failed = 0;
    vi.spyOn(proto, 'createReadStream').mockImplementation(function (this: unknown, ...args: unknown[]) {
      const stream = real.apply(this, args);
      stream.once('data', () => {
        failed++;
        stream.destroy(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }));
      });
      return stream;
    });
    logs.length = 0;
    const outcome = await new Promise<{ bytes: number; error?: string; complete: boolean }>((resolve) => {
      let bytes = 0;
      const req = http.get({ host: '127.0.0.1', port: server.port, path: `/media/image/1?token=${TOKEN}`, agent: false }, (res) => {
        expect(res.statusCode).toBe(200);
        res.on('data', (d: Buffer) => (bytes += d.length));
        res.on('end', () => resolve({ bytes, complete: res.complete }));
        res.on('error', (e) => resolve({ bytes, error: e.message, complete: res.complete }));
      });
      req.on('error', (e) => resolve({ bytes, error: e.message, complete: false }));
    });
    vi.restoreAllMocks();
    expect(failed).toBe(1);
    // The client is told the body is incomplete (the connection is cut), not handed a short file as whole.
    expect(outcome.complete).toBe(false);
    expect(outcome.bytes).toBeLessThan(IMAGE_BYTES);
    expect(logs.some((l) => l.includes('streaming a file failed') && l.includes('EIO'))).toBe(true);
    expect(await until(() => openFds() <= baseline + 2)).toBe(true);
    expect((await get(`/media/image/1?token=${TOKEN}`)).body.length).toBe(IMAGE_BYTES);
    expect(await wsCall()).toMatchObject({ ok: true });
  });
});

describe('backpressure with the real gallery.export', () => {
  it('a client that sends 60 gallery.export calls and never reads is disconnected before they all run; the server keeps serving', async () => {
    const dataDir = tempDir();
    const env = { HF_HOME: tempDir(), HF_ENDPOINT: 'http://127.0.0.1:9', HF_TOKEN: '' };
    const core = await StudioCore.open({ dataDir, adapters: nodeAdapters(env), env, runtime: 'cli', appVersion: '0.0.0-test' });
    const exportLogs: string[] = [];
    let exports = 0;
    const real = createDispatcher(core.api);
    const counted: typeof real = (method, params) => {
      if (method === 'gallery.export') exports++;
      return real(method, params);
    };
    const transport = await startHttpTransport({ dispatch: counted, events: core.events, dataRoot: dataDir, rendererDir: tempDir(), token: TOKEN, log: (m) => exportLogs.push(m) });
    try {
      // Noise does not compress: a 1024² RGB PNG is ~3 MB, ~4 MB as base64 in each reply.
      const pixels = { width: 1024, height: 1024, channels: 3 as const, data: new Uint8Array(crypto.randomBytes(1024 * 1024 * 3)) };
      const { id } = await core.history.saveImage({ pixels, meta: sampleMeta('an export that is never read') });
      const one = JSON.stringify({ type: 'call', id: 0, method: 'gallery.export', params: { id, metadata: true } });
      const sock = await rawWebSocket(transport.port);
      sock.pause(); // never reads
      for (let i = 0; i < 60; i++) sock.write(frame(0x1, Buffer.from(one.replace('"id":0', `"id":${i}`))));
      // Cut where the next call would start (its replies are slow to build, so this path, not the send, trips).
      const cut = await until(() => exportLogs.some((l) => l.includes('stopped reading')), 60_000);
      expect(cut).toBe(true);
      // 64 MiB unread ≈ 16 replies of ~4 MB: the socket is cut long before all 60 exports have run.
      expect(exports).toBeGreaterThan(0);
      expect(exports).toBeLessThan(60);
      sock.destroy();
      const ws = new WebSocket(`ws://127.0.0.1:${transport.port}/ws?token=${TOKEN}`);
      try {
        await new Promise((r) => ws.once('open', r));
        const reply = new Promise<{ ok: boolean; result: { dataBase64: string } }>((r) => ws.once('message', (d) => r(JSON.parse(String(d)))));
        ws.send(JSON.stringify({ type: 'call', id: 1, method: 'gallery.export', params: { id, metadata: false } }));
        const answer = await reply;
        expect(answer.ok).toBe(true);
        expect(Buffer.from(answer.result.dataBase64, 'base64').subarray(1, 4).toString()).toBe('PNG');
      } finally {
        ws.terminate();
      }
    } finally {
      await transport.close();
      core.close();
    }
  }, 120_000);
});

describe('API method names', () => {
  it('a malformed % escape answers 400, not 500', async () => {
    const res = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: server.port, path: '/api/models.%E0%A4%A', method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } },
        (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    expect(res).toBe(400);
  });
});
