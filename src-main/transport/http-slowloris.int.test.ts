// A local slowloris against browser mode (any local process, no token needed): idle half-sent requests must
// not hold the server's descriptors. Real sockets on 127.0.0.1 against the real transport in this process.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../core/events';
import { removeTempDirs, tempDir } from '../testing/temp';
import { SERVER_LIMITS, startHttpTransport, type HttpTransport } from './http';

let server: HttpTransport;

beforeAll(async () => {
  const dataRoot = tempDir();
  const rendererDir = path.join(dataRoot, 'renderer');
  fs.mkdirSync(rendererDir, { recursive: true });
  fs.writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>t</title>');
  server = await startHttpTransport({ dispatch: async () => ({ ok: true, result: 'pong' }), events: new EventBus(), dataRoot, rendererDir, token: 'test-token-0123456789abcdef' });
});

afterAll(async () => {
  await server?.close();
  removeTempDirs();
});

interface Idle {
  socket: net.Socket;
  closed: Promise<void>;
  isClosed: () => boolean;
  received: () => string;
}

/** A connection that sends half a request line and headers, then nothing. */
function halfSent(): Promise<Idle> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, '127.0.0.1');
    let closedFlag = false;
    let data = '';
    socket.on('data', (d) => (data += String(d)));
    const closed = new Promise<void>((r) => socket.once('close', () => ((closedFlag = true), r())));
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nX-Slow: `);
      resolve({ socket, closed, isClosed: () => closedFlag, received: () => data });
    });
    socket.once('error', reject);
  });
}

function get(p: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: server.port, path: p, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

describe('browser mode against a local slowloris', () => {
  it('closes connections past the cap at once, cuts idle half-sent requests after the headers timeout, then serves again', async () => {
    const extra = 20;
    const idle: Idle[] = [];
    for (let i = 0; i < SERVER_LIMITS.maxConnections + extra; i++) idle.push(await halfSent());
    // The connections past the cap are closed by the server without waiting for any timeout…
    const firstClosed = await Promise.race(idle.map((c, i) => c.closed.then(() => i)));
    let closedEarly = 0;
    for (let round = 0; round < 200 && closedEarly < extra; round++) {
      await new Promise((r) => setTimeout(r, 10));
      closedEarly = idle.filter((c) => c.isClosed()).length;
    }
    expect(firstClosed).toBeGreaterThanOrEqual(SERVER_LIMITS.maxConnections);
    expect(idle.slice(SERVER_LIMITS.maxConnections).every((c) => c.isClosed())).toBe(true);
    // …while those within the cap are still waiting for their headers.
    expect(idle.slice(0, SERVER_LIMITS.maxConnections).some((c) => !c.isClosed())).toBe(true);
    // Every half-sent request is then cut (headersTimeout: a 408 or a plain close), freeing its descriptor.
    await Promise.all(idle.map((c) => c.closed));
    expect(idle.every((c) => c.isClosed())).toBe(true);
    expect(idle.slice(0, SERVER_LIMITS.maxConnections).every((c) => c.received() === '' || c.received().startsWith('HTTP/1.1 408'))).toBe(true);
    expect(await get('/')).toBe(200);
  }, 120_000);

  it('limits are those the documentation states', () => {
    expect(SERVER_LIMITS).toEqual({ maxConnections: 128, headersTimeoutMs: 10_000, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 2_000, checkIntervalMs: 1_000 });
  });
});
