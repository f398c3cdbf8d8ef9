import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listenRememberingPort, readLastPort } from './serve-port';

const dirs: string[] = [];
const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function portFile(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-serve-port-'));
  dirs.push(d);
  return path.join(d, 'serve-port');
}

/** A real listener on 127.0.0.1, as the HTTP transport opens one. */
function listen(port: number): Promise<{ port: number }> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => {
      servers.push(s);
      resolve({ port: (s.address() as net.AddressInfo).port });
    });
  });
}

const closeAll = () => Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));

describe('serve --port 0 keeps its origin across restarts', () => {
  it('the second start takes the first start\'s port when it is free', async () => {
    const file = portFile();
    const first = await listenRememberingPort(file, 0, listen);
    expect(readLastPort(file)).toBe(first.port);
    await closeAll();
    const second = await listenRememberingPort(file, 0, listen);
    expect(second.port).toBe(first.port);
  });

  it('a taken last port falls back to any free port (and that one is remembered)', async () => {
    const file = portFile();
    const busy = await listen(0);
    fs.writeFileSync(file, `${busy.port}\n`);
    const started = await listenRememberingPort(file, 0, listen);
    expect(started.port).not.toBe(busy.port);
    expect(readLastPort(file)).toBe(started.port);
  });

  it('an explicit port is used as given; a garbled file is ignored', async () => {
    const file = portFile();
    fs.writeFileSync(file, 'not a port');
    expect(readLastPort(file)).toBeUndefined();
    const started = await listenRememberingPort(file, 0, listen);
    expect(started.port).toBeGreaterThan(0);
    const other = await listen(0);
    await expect(listenRememberingPort(file, other.port, listen)).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
