// The renderer's one door to the studio: window.studio (Electron preload) when present, else a
// WebSocket client for browser mode with the per-launch token from the URL. Both are the same typed
// client over src-shared/api.ts; results and events are validated on receipt.
import { type EventName, type MethodName, type ParamsOf, type PayloadOf, type ResultOf, type StudioClient, replySchema, eventMessageSchema } from '../src-shared/api';
import { typedCall, typedOn, type RawChannel, type RawReply } from '../src-shared/client';
import { StudioError } from '../src-shared/errors';

interface PreloadBridge {
  runtime: 'electron';
  call(method: MethodName, params: unknown): Promise<RawReply>;
  onEvent(listener: (event: string, payload: unknown) => void): () => void;
  /** The file-system path of a dropped file ('' when it has none). */
  pathForFile?(file: File): string;
}

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

/** Reads the token from #token=… (then hides it from the address bar), or from this tab's session. */
export function takeToken(): string | undefined {
  const match = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(window.location.hash);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, match[1]!);
    history.replaceState(null, '', window.location.pathname + window.location.search + '#/');
    return match[1];
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export type ConnectionState = 'connecting' | 'open' | 'closed';

export class WebSocketChannel implements RawChannel {
  private ws: WebSocket | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, (reply: RawReply) => void>();
  private readonly listeners = new Set<(event: string, payload: unknown) => void>();
  private opened: Promise<void> | undefined;
  private retry = 0;
  state: ConnectionState = 'connecting';
  onState?: (s: ConnectionState) => void;

  constructor(private readonly url: string) {}

  private connect(): Promise<void> {
    if (this.opened) return this.opened;
    this.opened = new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      ws.onopen = () => {
        this.retry = 0;
        this.setState('open');
        resolve();
      };
      ws.onmessage = (e) => this.onMessage(String(e.data));
      ws.onclose = () => {
        this.opened = undefined;
        this.setState('closed');
        for (const [, settle] of this.pending) settle({ ok: false, error: new StudioError('unavailable', 'Lost the connection to the studio').toWire() });
        this.pending.clear();
        reject(new StudioError('unavailable', 'Cannot reach the studio server (is `sd35-studio serve` still running?)'));
        const delay = Math.min(10_000, 500 * 2 ** this.retry++);
        setTimeout(() => void this.connect().catch(() => undefined), delay);
      };
    });
    return this.opened;
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

export function createStudioClient(): StudioClient {
  const bridge = window.studio;
  if (bridge) {
    return makeClient(bridge, 'electron', (kind, id, size) => `studio://${kind}/${id}${kind === 'thumb' ? `?size=${size ?? 256}` : ''}`);
  }
  const token = takeToken();
  if (!token) throw new StudioError('auth_required', 'This page needs the link printed by `sd35-studio serve` (it carries the access token).');
  const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const channel = new WebSocketChannel(`${proto}//${window.location.host}/ws?token=${encodeURIComponent(token)}`);
  return makeClient(channel, 'browser', (kind, id, size) => `/media/${kind}/${id}?${kind === 'thumb' ? `size=${size ?? 256}&` : ''}token=${encodeURIComponent(token)}`);
}
