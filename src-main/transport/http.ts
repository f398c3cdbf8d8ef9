// Browser mode: the built renderer and the same StudioApi over HTTP + WebSocket, on 127.0.0.1 only.
// Every API call and WebSocket needs the per-launch token; a foreign Host or Origin header is
// refused (DNS-rebinding guard). Started by `sd35-studio serve`, never silently by the desktop app.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, pipeline } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_MESSAGE_BYTES, callMessageSchema, type EventMessage, type HeartbeatMessage, type Reply } from '../../src-shared/api';
import { StudioError } from '../../src-shared/errors';
import { WS_PATH, parseMediaPath } from '../../src-shared/media-urls';
import type { EventBus } from '../core/events';
import { SECURITY_HEADERS, contentSecurityPolicy } from './security';
import type { Dispatch } from './dispatch';
import { noMedia, type MediaSource } from '../core/media';
import type { DownloadSource, TakeResult } from '../core/images/export-downloads';
import { resolveMedia } from './media';
import { resolveStatic } from './static';

export const LOOPBACK = '127.0.0.1';
/**
 * Calls one WebSocket may have running at once; more wait in its queue. Room for a few long calls
 * (models.verify re-hashes gigabytes) beside the UI's short ones.
 */
export const MAX_CALLS_IN_FLIGHT = 16;
/** Calls (and their bytes) one WebSocket may have waiting; more are refused at once. */
export const MAX_CALLS_QUEUED = 64;
export const MAX_QUEUED_BYTES = 2 * MAX_MESSAGE_BYTES;
/** A client that leaves more than this unread (replies and events) is disconnected. */
export const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
/**
 * Against a local slowloris (idle half-sent requests need no token): connections past this are closed at once,
 * far below a 1,024-descriptor limit; a request must send its headers, and then all of itself, within 10 s; an
 * idle keep-alive connection is closed after 2 s; Node checks these every second (its default is 30 s).
 */
export const SERVER_LIMITS = {
  maxConnections: 128,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 2_000,
  checkIntervalMs: 1_000,
} as const;

export interface HttpTransportOptions {
  dispatch: Dispatch;
  events: EventBus;
  dataRoot: string;
  rendererDir: string;
  media?: MediaSource;
  /** One-time export downloads (`GET /download/<token>`); none: every such URL is 404. */
  downloads?: DownloadSource;
  port?: number;
  /** Fixed token for tests; normally a fresh random one per launch. */
  token?: string;
  log?: (msg: string) => void;
}

export interface HttpTransport {
  readonly port: number;
  readonly token: string;
  readonly url: string;
  close(): Promise<void>;
}

export function newToken(): string {
  return crypto.randomBytes(24).toString('base64url');
}

function tokensEqual(given: string | null | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** Host must name this server on loopback; Origin, when sent, must be this server's origin. */
export function checkHostAndOrigin(headers: http.IncomingHttpHeaders, port: number): string | undefined {
  const allowedHosts = [`${LOOPBACK}:${port}`, `localhost:${port}`];
  const host = headers.host;
  if (!host || !allowedHosts.includes(host.toLowerCase())) return 'foreign Host header';
  const origin = headers.origin;
  if (origin !== undefined && !allowedHosts.map((h) => `http://${h}`).includes(origin.toLowerCase())) return 'foreign Origin header';
  return undefined;
}

function bearer(req: http.IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  return undefined;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...SECURITY_HEADERS });
  res.end(text);
}

function sendError(res: http.ServerResponse, status: number, err: StudioError): void {
  sendJson(res, status, { ok: false, error: err.toWire() });
}

/**
 * Streams an opened file as the answer. A file that vanishes or fails mid-read, or a client that
 * goes away, ends that one response and closes the descriptor; the server keeps serving.
 */
async function sendFile(
  res: http.ServerResponse,
  file: string,
  headers: http.OutgoingHttpHeaders,
  o: { head?: boolean; log?: (msg: string) => void; onMissing: () => void },
): Promise<void> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch {
    return o.onMissing();
  }
  let size: number;
  try {
    size = (await fh.stat()).size;
  } catch {
    await fh.close().catch(() => undefined);
    return o.onMissing();
  }
  res.writeHead(200, { ...headers, 'Content-Length': size });
  if (o.head) {
    await fh.close().catch(() => undefined);
    res.end();
    return;
  }
  pipeline(fh.createReadStream({ autoClose: true }), res, (err) => {
    if (err && err.code !== 'ERR_STREAM_PREMATURE_CLOSE') o.log?.(`http: streaming a file failed: ${err.message}`);
    if (err) res.destroy();
  });
}

/**
 * A one-time export download (issue 18 §3): streamed with the name the server chose; 410 once spent or expired,
 * 404 for a token it never gave.
 */
function sendDownload(res: http.ServerResponse, taken: TakeResult, log?: (msg: string) => void): void {
  if (taken.status === 'gone') return sendError(res, 410, new StudioError('not_found', 'This download was already used or has expired; export again.'));
  if (taken.status === 'unknown') return sendError(res, 404, new StudioError('not_found', 'No such download'));
  const { data, fileName, mimeType } = taken.download;
  res.writeHead(200, {
    'Content-Type': mimeType,
    'Content-Length': data.byteLength,
    'Content-Disposition': `attachment; filename="${fileName.replace(/[^A-Za-z0-9._-]/gu, '_')}"`,
    'Cache-Control': 'no-store',
    ...SECURITY_HEADERS,
  });
  const CHUNK = 1 << 20;
  const chunks = function* (): Generator<Uint8Array> {
    for (let at = 0; at < data.byteLength; at += CHUNK) yield data.subarray(at, at + CHUNK);
  };
  pipeline(Readable.from(chunks(), { objectMode: false }), res, (err) => {
    if (err && err.code !== 'ERR_STREAM_PREMATURE_CLOSE') log?.(`http: streaming a download failed: ${err.message}`);
    if (err) res.destroy();
  });
}

async function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > limit) throw new StudioError('invalid_input', 'Request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startHttpTransport(options: HttpTransportOptions): Promise<HttpTransport> {
  const token = options.token ?? newToken();
  const media = options.media ?? noMedia;
  const csp = contentSecurityPolicy('browser');
  let port = 0;

  const server = http.createServer(
    {
      headersTimeout: SERVER_LIMITS.headersTimeoutMs,
      requestTimeout: SERVER_LIMITS.requestTimeoutMs,
      keepAliveTimeout: SERVER_LIMITS.keepAliveTimeoutMs,
      connectionsCheckingInterval: SERVER_LIMITS.checkIntervalMs,
    },
    (req, res) => {
      void handle(req, res).catch((err) => {
        options.log?.(`http: ${StudioError.from(err).message}`);
        if (!res.headersSent) sendError(res, 500, new StudioError('internal', 'Internal error'));
        else res.destroy();
      });
    },
  );
  server.maxConnections = SERVER_LIMITS.maxConnections;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const refusal = checkHostAndOrigin(req.headers, port);
    if (refusal) return sendError(res, 403, new StudioError('invalid_input', `Refused: ${refusal}`));
    const url = new URL(req.url ?? '/', `http://${LOOPBACK}:${port}`);

    if (url.pathname.startsWith('/api/')) {
      if (!tokensEqual(bearer(req), token)) return sendError(res, 401, new StudioError('auth_required', 'Missing or wrong studio token'));
      if (req.method !== 'POST') return sendError(res, 405, new StudioError('invalid_input', 'Use POST'));
      let method: string;
      try {
        method = decodeURIComponent(url.pathname.slice('/api/'.length));
      } catch {
        return sendError(res, 400, new StudioError('invalid_input', 'Malformed method name'));
      }
      let params: unknown;
      try {
        const body = await readBody(req, MAX_MESSAGE_BYTES);
        params = body.trim() === '' ? {} : JSON.parse(body);
      } catch (err) {
        return sendError(res, 400, err instanceof StudioError ? err : new StudioError('invalid_input', 'Body is not valid JSON'));
      }
      const reply = await options.dispatch(method, params);
      return sendJson(res, reply.ok ? 200 : statusFor(reply.error.code), reply);
    }

    const mediaPath = parseMediaPath(url.pathname);
    if (mediaPath) {
      if (!tokensEqual(url.searchParams.get('token'), token)) return sendError(res, 401, new StudioError('auth_required', 'Missing or wrong studio token'));
      const { kind, rawId } = mediaPath;
      try {
        const file = await resolveMedia(options.dataRoot, media, kind, rawId, url.searchParams.get('size'));
        await sendFile(res, file.path, { 'Content-Type': file.contentType, 'Cache-Control': 'private, max-age=3600', ...SECURITY_HEADERS }, {
          ...(options.log ? { log: options.log } : {}),
          onMissing: () => sendError(res, 404, new StudioError('not_found', 'Image not found')),
        });
      } catch (err) {
        sendError(res, 404, err instanceof StudioError ? err : new StudioError('not_found', 'Image not found'));
      }
      return;
    }

    if (url.pathname.startsWith('/download/')) {
      if (!tokensEqual(url.searchParams.get('token'), token)) return sendError(res, 401, new StudioError('auth_required', 'Missing or wrong studio token'));
      if (req.method !== 'GET') return sendError(res, 405, new StudioError('invalid_input', 'Use GET'));
      return sendDownload(res, options.downloads?.take(url.pathname.slice('/download/'.length)) ?? { status: 'unknown' }, options.log);
    }

    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, new StudioError('invalid_input', 'Method not allowed'));
    try {
      const file = await resolveStatic(options.rendererDir, url.pathname);
      await sendFile(res, file.path, { 'Content-Type': file.contentType, 'Content-Security-Policy': csp, 'Cache-Control': 'no-cache', ...SECURITY_HEADERS }, {
        head: req.method === 'HEAD',
        ...(options.log ? { log: options.log } : {}),
        onMissing: () => notFound(res),
      });
    } catch {
      notFound(res);
    }
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const sockets = new Set<WebSocket>();
  const calls = new WeakMap<WebSocket, { running: number; queue: (string | undefined)[]; bytes: number }>();

  /** Sends unless the client stopped reading: past MAX_BUFFERED_BYTES unread it is disconnected. */
  function sendTo(ws: WebSocket, text: string): boolean {
    if (ws.readyState !== ws.OPEN) return false;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      options.log?.('ws: a client stopped reading its replies; disconnected');
      ws.terminate();
      return false;
    }
    ws.send(text);
    return true;
  }

  /** Runs queued calls of one socket, at most MAX_CALLS_IN_FLIGHT at once. */
  function pump(ws: WebSocket): void {
    const state = calls.get(ws);
    if (!state) return;
    while (state.running < MAX_CALLS_IN_FLIGHT && state.queue.length > 0) {
      if (ws.readyState !== ws.OPEN || ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        state.queue.length = 0;
        state.bytes = 0;
        if (ws.readyState === ws.OPEN) {
          options.log?.('ws: a client stopped reading its replies; disconnected');
          ws.terminate();
        }
        return;
      }
      const text = state.queue.shift();
      state.bytes -= text?.length ?? 0;
      state.running++;
      void onMessage(ws, text).finally(() => {
        state.running--;
        pump(ws);
      });
    }
  }

  server.on('upgrade', (req, socket, head) => {
    const refusal = checkHostAndOrigin(req.headers, port);
    const url = new URL(req.url ?? '/', `http://${LOOPBACK}:${port}`);
    if (refusal || url.pathname !== WS_PATH || !tokensEqual(url.searchParams.get('token'), token)) {
      socket.write('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      // A bad frame (invalid UTF-8, unmasked, bad opcode, RSV bits, too large) ends that socket only.
      ws.on('error', (err) => {
        options.log?.(`ws: ${err.message}; connection closed`);
        sockets.delete(ws);
        ws.terminate();
      });
      calls.set(ws, { running: 0, queue: [], bytes: 0 });
      ws.on('message', (data, isBinary) => {
        const state = calls.get(ws)!;
        const text = isBinary ? undefined : data.toString();
        // The tab's heartbeat (src-shared/api.ts HEARTBEAT_*): answered at once, beside the call queue, so a
        // socket busy with long calls still shows it is alive; a frozen server answers nothing.
        if (text === PING_TEXT) {
          sendTo(ws, PONG_TEXT);
          return;
        }
        if (state.queue.length >= MAX_CALLS_QUEUED || state.bytes + (text?.length ?? 0) > MAX_QUEUED_BYTES) {
          const error = new StudioError('unavailable', `Too many calls at once (${MAX_CALLS_QUEUED} waiting); wait for their replies and try again.`);
          sendTo(ws, JSON.stringify({ type: 'reply', id: replyId(text), ok: false, error: error.toWire() } satisfies Reply));
          return;
        }
        state.queue.push(text);
        state.bytes += text?.length ?? 0;
        pump(ws);
      });
    });
  });

  async function onMessage(ws: WebSocket, text: string | undefined): Promise<void> {
    let raw: unknown;
    try {
      raw = text === undefined ? undefined : JSON.parse(text);
    } catch {
      raw = undefined;
    }
    const msg = callMessageSchema.safeParse(raw);
    if (!msg.success) {
      const id = typeof (raw as { id?: unknown })?.id === 'number' ? (raw as { id: number }).id : -1;
      const reply: Reply = { type: 'reply', id, ok: false, error: new StudioError('invalid_input', 'Malformed message').toWire() };
      sendTo(ws, JSON.stringify(reply));
      return;
    }
    const result = await options.dispatch(msg.data.method, msg.data.params);
    const reply: Reply = result.ok
      ? { type: 'reply', id: msg.data.id, ok: true, result: result.result }
      : { type: 'reply', id: msg.data.id, ok: false, error: result.error };
    sendTo(ws, JSON.stringify(reply));
  }

  const unsubscribe = options.events.subscribe((event, payload) => {
    const message: EventMessage = { type: 'event', event, payload };
    const text = JSON.stringify(message);
    for (const ws of sockets) sendTo(ws, text);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, LOOPBACK, () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  return {
    port,
    token,
    url: `http://${LOOPBACK}:${port}/#token=${token}`,
    async close() {
      unsubscribe();
      for (const ws of sockets) ws.terminate();
      wss.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

const PING_TEXT = JSON.stringify({ type: 'ping' } satisfies HeartbeatMessage);
const PONG_TEXT = JSON.stringify({ type: 'pong' } satisfies HeartbeatMessage);

/** The numeric id of a call message, or -1. */
function replyId(text: string | undefined): number {
  const m = text === undefined ? null : /"id"\s*:\s*(\d{1,15})/.exec(text);
  return m ? Number(m[1]) : -1;
}

function notFound(res: http.ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
  res.end('Not found');
}

function statusFor(code: string): number {
  switch (code) {
    case 'invalid_input':
      return 400;
    case 'not_found':
      return 404;
    case 'auth_required':
    case 'auth_rejected':
      return 401;
    case 'licence_not_accepted':
      return 403;
    case 'conflict':
      return 409;
    default:
      return 500;
  }
}
