// `serve --port 0` (the README's command) takes the port of the last `serve` on this data folder when
// it is free, so a restarted server keeps its origin: the browser's per-origin state (the Generate form,
// the Compare layout) survives, and an open tab reconnects to the same address.
import fs from 'node:fs';

/** Reads the port the last `serve` on this data folder listened on; undefined when none or unreadable. */
export function readLastPort(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 && n <= 65535 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Listens on `asked`; when it is 0, first on the last port (falling back to any free port when that
 * one is taken). Remembers the port that was used.
 */
export async function listenRememberingPort<T extends { port: number }>(
  file: string,
  asked: number,
  listen: (port: number) => Promise<T>,
): Promise<T> {
  const last = asked === 0 ? readLastPort(file) : undefined;
  let server: T;
  if (last !== undefined) {
    try {
      server = await listen(last);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' && (err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
      server = await listen(0);
    }
  } else server = await listen(asked);
  try {
    fs.writeFileSync(file, `${server.port}\n`, { mode: 0o600 });
  } catch {
    /* a read-only data folder: the next start picks any free port */
  }
  return server;
}
