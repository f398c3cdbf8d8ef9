// Browser mode's guards, against a real `sd35-studio serve` process: token, Host/Origin
// (DNS rebinding), loopback only, CSP on the page, and the renderer served.
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServe, stop, type Served } from '../testing/processes';
import { removeTempDirs, tempDir } from '../testing/temp';

let s: Served;
beforeAll(async () => {
  s = await startServe(tempDir());
});
afterAll(async () => {
  await stop(s.child);
  removeTempDirs();
});

function rawRequest(opts: { path: string; method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: s.port, path: opts.path, method: opts.method ?? 'GET', headers: opts.headers, setHost: !opts.headers?.Host }, (res) => {
      let body = '';
      res.on('data', (d) => (body += String(d)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

function wsOpens(url: string, headers: Record<string, string> = {}): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => {
      ws.close();
      resolve(true);
    });
    ws.on('error', () => resolve(false));
    ws.on('unexpected-response', () => resolve(false));
  });
}

describe('browser-mode server', () => {
  it('prints the URL with the token and binds 127.0.0.1 only', async () => {
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{20,}$/);
    // Another loopback address on the same port: nothing listens there.
    const other = await new Promise<string>((resolve) => {
      const sock = net.connect({ host: '127.0.0.2', port: s.port });
      sock.on('connect', () => {
        sock.destroy();
        resolve('connected');
      });
      sock.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(other).toBe('ECONNREFUSED');
  });

  it('serves the renderer with a strict CSP', async () => {
    const res = await rawRequest({ path: '/' });
    expect(res.status).toBe(200);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.body).toContain('<div id="app">');
  });

  it('refuses an API call without the token or with a wrong one', async () => {
    expect((await rawRequest({ path: '/api/system.info', method: 'POST', body: '{}' })).status).toBe(401);
    const wrong = await rawRequest({ path: '/api/system.info', method: 'POST', headers: { Authorization: 'Bearer nope' }, body: '{}' });
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.body).error.code).toBe('auth_required');
    const right = await rawRequest({ path: '/api/system.info', method: 'POST', headers: { Authorization: `Bearer ${s.token}` }, body: '{}' });
    expect(right.status).toBe(200);
  });

  it('refuses a foreign Host header (DNS rebinding) and a foreign Origin', async () => {
    const auth = { Authorization: `Bearer ${s.token}` };
    expect((await rawRequest({ path: '/api/system.info', method: 'POST', headers: { ...auth, Host: `evil.example:${s.port}` }, body: '{}' })).status).toBe(403);
    expect((await rawRequest({ path: '/', headers: { Host: 'rebind.attacker.test' } })).status).toBe(403);
    expect((await rawRequest({ path: '/api/system.info', method: 'POST', headers: { ...auth, Origin: 'https://evil.example' }, body: '{}' })).status).toBe(403);
    expect((await rawRequest({ path: '/api/system.info', method: 'POST', headers: { ...auth, Origin: `http://localhost:${s.port}` }, body: '{}' })).status).toBe(200);
  });

  it('refuses a WebSocket without the token, with a wrong token, or from a foreign origin', async () => {
    const base = `ws://127.0.0.1:${s.port}/ws`;
    expect(await wsOpens(base)).toBe(false);
    expect(await wsOpens(`${base}?token=wrong`)).toBe(false);
    expect(await wsOpens(`${base}?token=${s.token}`, { Origin: 'http://evil.example' })).toBe(false);
    expect(await wsOpens(`${base}?token=${s.token}`, { Origin: `http://127.0.0.1:${s.port}` })).toBe(true);
  });

  it("answers the tab's heartbeat ping with a pong at once, beside the calls", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${s.port}/ws?token=${s.token}`);
    const heard: unknown[] = [];
    ws.on('message', (d) => heard.push(JSON.parse(String(d))));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const until = async (n: number) => {
      while (heard.length < n) await new Promise((r) => setTimeout(r, 20));
    };
    ws.send(JSON.stringify({ type: 'ping' }));
    await until(1);
    expect(heard).toEqual([{ type: 'pong' }]); // not a call: no reply with an id, no "Malformed message"
    ws.send(JSON.stringify({ type: 'call', id: 7, method: 'system.info', params: {} }));
    ws.send(JSON.stringify({ type: 'ping' }));
    await until(3);
    expect(heard).toContainEqual({ type: 'pong' });
    expect(heard.filter((m) => (m as { type: string }).type === 'pong')).toHaveLength(2);
    expect(heard).toContainEqual(expect.objectContaining({ type: 'reply', id: 7, ok: true }));
    ws.close();
  });

  it('refuses media without the token and media by path', async () => {
    expect((await rawRequest({ path: '/media/image/1' })).status).toBe(401);
    expect((await rawRequest({ path: `/media/image/..%2fstudio.db?token=${s.token}` })).status).toBe(404);
    expect((await rawRequest({ path: `/media/image/1?token=${s.token}` })).status).toBe(404);
  });

  it('answers bad JSON and unknown methods with errors, and keeps serving', async () => {
    const auth = { Authorization: `Bearer ${s.token}` };
    const bad = await rawRequest({ path: '/api/settings.set', method: 'POST', headers: auth, body: '{nope' });
    expect(bad.status).toBe(400);
    const unknown = await rawRequest({ path: '/api/fs.read', method: 'POST', headers: auth, body: '{}' });
    expect(JSON.parse(unknown.body).error.code).toBe('invalid_input');
    const huge = await rawRequest({ path: '/api/settings.set', method: 'POST', headers: auth, body: JSON.stringify({ modelsDir: `/${'x'.repeat(20_000)}` }) });
    expect(JSON.parse(huge.body).error.code).toBe('invalid_input');
    expect((await rawRequest({ path: '/api/system.info', method: 'POST', headers: auth, body: '' })).status).toBe(200);
  });
});
