// One HTTP exchange for file bytes, with the body as an async iterable of chunks. By default it
// runs on node:http/https with keep-alive (about half the CPU of fetch's web streams per byte,
// which matters when hashing and writing gigabytes); with an injected fetch it adapts that.
// Redirects are never followed here: the caller decides where the token goes.
import http from 'node:http';
import https from 'node:https';

export interface FileResponse {
  status: number;
  headers: { get(name: string): string | null };
  /** Must be consumed or cancelled. */
  body: AsyncIterable<Uint8Array>;
  cancel(): void;
}

export interface FileRequest {
  method: 'GET' | 'HEAD';
  headers: Record<string, string>;
  signal?: AbortSignal;
}

export type FileTransport = (url: string, req: FileRequest) => Promise<FileResponse>;

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 16 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 16 }),
};

export const nodeTransport: FileTransport = (url, req) =>
  new Promise<FileResponse>((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    if (u.protocol !== 'https:' && u.protocol !== 'http:') {
      reject(new Error(`Unsupported URL scheme ${u.protocol}`));
      return;
    }
    const request = mod.request(
      u,
      {
        method: req.method,
        headers: req.headers,
        agent: u.protocol === 'https:' ? agents.https : agents.http,
        ...(req.signal ? { signal: req.signal } : {}),
      },
      (res) => {
        resolve({
          status: res.statusCode ?? 0,
          headers: {
            get(name: string) {
              const v = res.headers[name.toLowerCase()];
              return v === undefined ? null : Array.isArray(v) ? v.join(', ') : String(v);
            },
          },
          body: res,
          cancel: () => res.destroy(),
        });
      },
    );
    request.on('error', reject);
    request.end();
  });

export function fetchTransport(fetchImpl: typeof fetch): FileTransport {
  return async (url, req) => {
    const res = await fetchImpl(url, { method: req.method, headers: req.headers, redirect: 'manual', ...(req.signal ? { signal: req.signal } : {}) });
    const body = res.body;
    return {
      status: res.status,
      headers: res.headers,
      body: body ? iterateStream(body) : emptyBody(),
      cancel: () => void body?.cancel().catch(() => undefined),
    };
  };
}

async function* iterateStream(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

// eslint-disable-next-line require-yield
async function* emptyBody(): AsyncGenerator<Uint8Array> {
  return;
}

/** Reads a small body as text (error answers), at most `limit` bytes. */
export async function readText(res: FileResponse, limit = 4096): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of res.body) {
      parts.push(Buffer.from(chunk));
      n += chunk.length;
      if (n >= limit) break;
    }
  } catch {
    /* a cut error body is still an error */
  } finally {
    res.cancel();
  }
  return Buffer.concat(parts).toString('utf8').slice(0, limit);
}
