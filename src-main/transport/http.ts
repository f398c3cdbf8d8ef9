// Browser mode: the built renderer and the same StudioApi over HTTP + WebSocket, on 127.0.0.1 only.
// Every API call and WebSocket needs the per-launch token; a foreign Host or Origin header is
// refused (DNS-rebinding guard). Started by `sd35-studio serve`, never silently by the desktop app.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_MESSAGE_BYTES, callMessageSchema, type EventMessage, type Reply } from '../../src-shared/api';
import { StudioError } from '../../src-shared/errors';
import type { EventBus } from '../core/events';
import { SECURITY_HEADERS, contentSecurityPolicy } from '../shell/security';
import type { Dispatch } from './dispatch';
import { noMedia, type MediaSource } from '../core/media';
import { resolveMedia } from './media';
import { resolveStatic } from './static';

export const LOOPBACK = '127.0.0.1';

export interface HttpTransportOptions {
  dispatch: Dispatch;
  events: EventBus;
  dataRoot: string;
  rendererDir: string;
  media?: MediaSource;
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

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err) => {
      options.log?.(`http: ${StudioError.from(err).message}`);
      if (!res.headersSent) sendError(res, 500, new StudioError('internal', 'Internal error'));
      else res.destroy();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const refusal = checkHostAndOrigin(req.headers, port);
    if (refusal) return sendError(res, 403, new StudioError('invalid_input', `Refused: ${refusal}`));
    const url = new URL(req.url ?? '/', `http://${LOOPBACK}:${port}`);

    if (url.pathname.startsWith('/api/')) {
      if (!tokensEqual(bearer(req), token)) return sendError(res, 401, new StudioError('auth_required', 'Missing or wrong studio token'));
      if (req.method !== 'POST') return sendError(res, 405, new StudioError('invalid_input', 'Use POST'));
      const method = decodeURIComponent(url.pathname.slice('/api/'.length));
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

    if (url.pathname.startsWith('/media/')) {
      if (!tokensEqual(url.searchParams.get('token'), token)) return sendError(res, 401, new StudioError('auth_required', 'Missing or wrong studio token'));
      const [, , kind = '', rawId = '', ...rest] = url.pathname.split('/');
      try {
        if (rest.length) throw new StudioError('not_found', 'Image not found');
        const file = await resolveMedia(options.dataRoot, media, kind, rawId, url.searchParams.get('size'));
        res.writeHead(200, { 'Content-Type': file.contentType, 'Content-Length': file.size, 'Cache-Control': 'private, max-age=3600', ...SECURITY_HEADERS });
        fs.createReadStream(file.path).pipe(res);
      } catch (err) {
        sendError(res, 404, err instanceof StudioError ? err : new StudioError('not_found', 'Image not found'));
      }
      return;
    }

    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, new StudioError('invalid_input', 'Method not allowed'));
    try {
      const file = await resolveStatic(options.rendererDir, url.pathname);
      res.writeHead(200, { 'Content-Type': file.contentType, 'Content-Security-Policy': csp, 'Cache-Control': 'no-cache', ...SECURITY_HEADERS });
      if (req.method === 'HEAD') return void res.end();
      fs.createReadStream(file.path).pipe(res);
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
      res.end('Not found');
    }
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const sockets = new Set<WebSocket>();

  server.on('upgrade', (req, socket, head) => {
    const refusal = checkHostAndOrigin(req.headers, port);
    const url = new URL(req.url ?? '/', `http://${LOOPBACK}:${port}`);
    if (refusal || url.pathname !== '/ws' || !tokensEqual(url.searchParams.get('token'), token)) {
      socket.write('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('message', (data, isBinary) => {
        void onMessage(ws, isBinary ? undefined : data.toString());
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
      ws.send(JSON.stringify(reply));
      return;
    }
    const result = await options.dispatch(msg.data.method, msg.data.params);
    const reply: Reply = result.ok
      ? { type: 'reply', id: msg.data.id, ok: true, result: result.result }
      : { type: 'reply', id: msg.data.id, ok: false, error: result.error };
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(reply));
  }

  const unsubscribe = options.events.subscribe((event, payload) => {
    const message: EventMessage = { type: 'event', event, payload };
    const text = JSON.stringify(message);
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(text);
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
