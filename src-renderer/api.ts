// The renderer's one door to the studio: window.studio (Electron preload) when present, else a
// WebSocket client for browser mode with the per-launch token from the URL. Both are the same typed
// client over src-shared/api.ts; results and events are validated on receipt.
import {
  HEARTBEAT_INTERVAL_MS,
  HEARTBEAT_TIMEOUT_MS,
  type EventName,
  type HeartbeatMessage,
  type MethodName,
  type ParamsOf,
  type PayloadOf,
  type ResultOf,
  type StudioClient,
  eventMessageSchema,
  heartbeatMessageSchema,
  replySchema,
} from '../src-shared/api';
import { typedCall, typedOn, type PreloadBridge, type RawChannel, type RawReply } from '../src-shared/client';
import { browserMediaUrl, studioMediaUrl, wsUrl } from '../src-shared/media-urls';
import { StudioError } from '../src-shared/errors';


declare global {
  interface Window {
    studio?: PreloadBridge;
  }
}

function makeClient(channel: RawChannel, runtime: 'electron' | 'browser', mediaUrl: StudioClient['mediaUrl']): StudioClient {
  return {
    runtime,
    call: <M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> => typedCall(channel, method, params),
    on: <E extends EventName>(event: E, listener: (p: PayloadOf<E>) => void) => typedOn(channel, event, listener),
    mediaUrl,
  };
}

const TOKEN_KEY = 'sd35studio.token';
/** `#token=…` as `serve` prints it (or `#/token=…` once the hash router has rewritten it). */
const TOKEN_IN_HASH = /(?:^#\/?|&)token=([A-Za-z0-9_-]+)/;

/** Reads the token from #token=… (then hides it from the address bar), or from this tab's session. */
export function takeToken(): string | undefined {
  const match = TOKEN_IN_HASH.exec(window.location.hash);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, match[1]!);
    history.replaceState(null, '', window.location.pathname + window.location.search + '#/');
    return match[1];
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

/**
 * Browser mode's link to the server: `lost` when the WebSocket closed (the server stopped) and the
 * channel is reconnecting on its own; `rejected` when the server answers but refuses this tab's token
 * (it was restarted: every launch has a new one).
 */
export type ConnectionState = 'connecting' | 'open' | 'lost' | 'rejected';

/** What the server says about a token: accepted, refused, or no answer at all. */
export type TokenCheck = 'accepted' | 'rejected' | 'unreachable';

/** Reconnect attempts back off to at most this (a restarted server is found within it). */
const MAX_RECONNECT_DELAY_MS = 3000;
const PING = JSON.stringify({ type: 'ping' } satisfies HeartbeatMessage);

/** `p`'s answer, or `fallback` when it has none within `ms` (a frozen server never answers). */
function answerWithin<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise<T>((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    p.then(
      (v) => resolve(v),
      () => resolve(fallback),
    ).finally(() => clearTimeout(timer));
  });
}

const connectionListeners = new Set<(state: ConnectionState, previous: ConnectionState) => void>();
let connectionState: ConnectionState = 'open';

/** Follows the connection (browser mode; the desktop app's IPC is always `open`). Returns the unsubscribe. */
export function onConnection(listener: (state: ConnectionState, previous: ConnectionState) => void): () => void {
  connectionListeners.add(listener);
  return () => connectionListeners.delete(listener);
}

export function currentConnection(): ConnectionState {
  return connectionState;
}

function publishConnection(state: ConnectionState): void {
  const previous = connectionState;
  connectionState = state;
  if (previous !== state) for (const l of connectionListeners) l(state, previous);
}

/** Asks the server whether it takes `token` (HEAD on the API: 401 when refused, 405 when accepted). */
export async function checkToken(token: string): Promise<TokenCheck> {
  try {
    const res = await fetch('/api/system.info', { method: 'HEAD', headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
    return res.status === 401 ? 'rejected' : 'accepted';
  } catch {
    return 'unreachable';
  }
}

export class WebSocketChannel implements RawChannel {
  private ws: WebSocket | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, (reply: RawReply) => void>();
  private readonly listeners = new Set<(event: string, payload: unknown) => void>();
  private opened: Promise<void> | undefined;
  private retry = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  /** Armed while connecting (the attempt's deadline) and while open (silence: no message heard). */
  private watchdog: ReturnType<typeof setTimeout> | undefined;
  private pinger: ReturnType<typeof setInterval> | undefined;
  state: ConnectionState = 'connecting';
  /** Where the state goes (default: this module's connection state, which the banner follows). */
  onState?: (s: ConnectionState) => void = publishConnection;

  constructor(
    private readonly url: string,
    /** Asked after a connection attempt failed before opening: was it the token? */
    private readonly tokenCheck: () => Promise<TokenCheck> = async () => 'unreachable',
  ) {}

  private connect(): Promise<void> {
    if (this.state === 'rejected') return Promise.reject(rejectedToken());
    if (this.opened) return this.opened;
    this.opened = new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      // A server that accepts the TCP connection but never answers the upgrade (frozen) is given up on.
      this.arm(() => this.drop(ws, false, reject));
      ws.onopen = () => {
        this.retry = 0;
        this.setState('open');
        this.arm(() => this.drop(ws, true, reject));
        clearInterval(this.pinger);
        this.pinger = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send(PING), HEARTBEAT_INTERVAL_MS);
        resolve();
      };
      ws.onmessage = (e) => {
        // Anything heard (a pong, a reply, an event) proves the server alive.
        this.arm(() => this.drop(ws, true, reject));
        this.onMessage(String(e.data));
      };
      ws.onclose = () => this.drop(ws, this.state === 'open', reject);
    });
    return this.opened;
  }

  private arm(onTimeout: () => void): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(onTimeout, HEARTBEAT_TIMEOUT_MS);
  }

  /** The socket closed, or went silent (then it is abandoned here: a frozen server never finishes a close). */
  private drop(ws: WebSocket, wasOpen: boolean, reject: (e: StudioError) => void): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    this.opened = undefined;
    clearTimeout(this.watchdog);
    clearInterval(this.pinger);
    ws.onopen = ws.onmessage = ws.onclose = null;
    if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) {
      try {
        ws.close();
      } catch {
        // already closing
      }
    }
    for (const [, settle] of this.pending) settle({ ok: false, error: new StudioError('unavailable', 'Lost the connection to the studio').toWire() });
    this.pending.clear();
    void this.afterClose(wasOpen).then(reject);
  }

  /**
   * A connection that never opened may have been refused for its token (then it stays closed);
   * anything else reconnects with backoff. Returns the error for the calls that waited on it.
   */
  private async afterClose(wasOpen: boolean): Promise<StudioError> {
    if (!wasOpen && (await answerWithin(this.tokenCheck(), HEARTBEAT_TIMEOUT_MS, 'unreachable')) === 'rejected') {
      this.setState('rejected');
      return rejectedToken();
    }
    this.setState('lost');
    const delay = Math.min(MAX_RECONNECT_DELAY_MS, 250 * 2 ** this.retry++);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.connect().catch(() => undefined), delay);
    return new StudioError('unavailable', 'Cannot reach the studio server (is `sd35-studio serve` still running?)');
  }

  private setState(s: ConnectionState) {
    this.state = s;
    this.onState?.(s);
  }

  private onMessage(text: string) {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return;
    }
    const reply = replySchema.safeParse(raw);
    if (reply.success) {
      const settle = this.pending.get(reply.data.id);
      this.pending.delete(reply.data.id);
      settle?.(reply.data.ok ? { ok: true, result: reply.data.result } : { ok: false, error: reply.data.error });
      return;
    }
    if (heartbeatMessageSchema.safeParse(raw).success) return;
    const event = eventMessageSchema.safeParse(raw);
    if (event.success) for (const l of this.listeners) l(event.data.event, event.data.payload);
  }

  async call(method: MethodName, params: unknown): Promise<RawReply> {
    await this.connect();
    const id = this.nextId++;
    return new Promise<RawReply>((resolve) => {
      this.pending.set(id, resolve);
      this.ws!.send(JSON.stringify({ type: 'call', id, method, params }));
    });
  }

  onEvent(listener: (event: string, payload: unknown) => void): () => void {
    this.listeners.add(listener);
    void this.connect().catch(() => undefined);
    return () => this.listeners.delete(listener);
  }
}

/** What a tab whose token the server refused is told (the error of its calls and the banner). */
export const REJECTED_TOKEN_TEXT =
  'The studio server did not accept this tab\'s access token: it was restarted, and every start has a new token. Open the link `sd35-studio serve` printed (it ends in #token=…) in this tab.';

function rejectedToken(): StudioError {
  return new StudioError('auth_rejected', REJECTED_TOKEN_TEXT);
}

/**
 * A `#token=…` opened in a tab that is already running (the address bar changes only the hash, so
 * the page does not load again): the new token replaces the stored one and the page starts over.
 */
export function reloadOnNewToken(): void {
  // popstate comes first (before the router rewrites the hash); hashchange in case it did not fire.
  const onNavigate = () => {
    if (!TOKEN_IN_HASH.test(window.location.hash)) return;
    takeToken();
    window.location.reload();
  };
  window.addEventListener('popstate', onNavigate);
  window.addEventListener('hashchange', onNavigate);
}

export function createStudioClient(): StudioClient {
  const bridge = window.studio;
  if (bridge) {
    return makeClient(bridge, 'electron', studioMediaUrl);
  }
  const token = takeToken();
  if (!token) throw new StudioError('auth_required', 'This page needs the link printed by `sd35-studio serve` (it carries the access token).');
  const channel = new WebSocketChannel(wsUrl(window.location.protocol, window.location.host, token), () => checkToken(token));
  return {
    ...makeClient(channel, 'browser', (kind, id, size) => browserMediaUrl(kind, id, size, token)),
    downloadUrl: (p) => `${p}?token=${encodeURIComponent(token)}`,
  };
}
