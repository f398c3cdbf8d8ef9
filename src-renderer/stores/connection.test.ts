// Browser mode's connection as the banner sees it, on fake timers and a fake WebSocket: a server that dies
// (socket closed) or freezes (socket open, nothing answered) is "Disconnected" within the heartbeat's
// timeout, the tab reconnects on its own, and once back it reads the queue again; a refused token is
// explained as such. No wall clock: the fake timers advance exactly the contract's intervals.
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HEARTBEAT_INTERVAL_MS, HEARTBEAT_TIMEOUT_MS } from '../../src-shared/api';
import { REJECTED_TOKEN_TEXT, WebSocketChannel, type TokenCheck } from '../api';
import { setStudio } from '../studio';
import { fakeClient, type FakeClient } from '../testing/fake-client';
import { useConnectionStore } from './connection';

/** The part of a browser WebSocket the channel uses; the test plays the server. */
class FakeWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  static made: FakeWebSocket[] = [];
  readyState = FakeWebSocket.CONNECTING;
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeWebSocket.made.push(this);
  }
  send(text: string): void {
    this.sent.push(text);
  }
  close(): void {
    this.readyState = FakeWebSocket.CLOSING; // a frozen server never completes the close
  }
  // ---- the server's side
  accept(): void {
    this.readyState = FakeWebSocket.OPEN;
    this.onopen?.();
  }
  say(message: unknown): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  die(): void {
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.();
  }
  pings(): number {
    return this.sent.filter((t) => t === '{"type":"ping"}').length;
  }
}

let client: FakeClient;
let stopListening: () => void;
const latest = () => FakeWebSocket.made.at(-1)!;
const jobsListCalls = () => client.calls.filter((c) => c.method === 'jobs.list').length;

function open(tokenCheck: () => Promise<TokenCheck> = () => new Promise(() => undefined)) {
  const channel = new WebSocketChannel('ws://127.0.0.1:1/ws?token=t', tokenCheck);
  const conn = useConnectionStore();
  stopListening = conn.listen();
  channel.onEvent(() => undefined); // subscribing connects, as the stores do
  return { channel, conn };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.stubGlobal('WebSocket', FakeWebSocket);
  FakeWebSocket.made = [];
  setActivePinia(createPinia());
  client = fakeClient({ 'jobs.list': () => ({ items: [], nextCursor: null, counts: { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0, interrupted: 0 }, queue: { paused: false, loadedModel: null } }) });
  setStudio(client);
});

afterEach(() => {
  stopListening?.();
  vi.clearAllTimers();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('connection (browser mode)', () => {
  it('a quiet but live server stays connected: the tab pings, the server answers, nothing else happens', async () => {
    const { conn } = open();
    latest().accept();
    expect(conn.state).toBe('open');
    for (let i = 0; i < 30; i++) {
      await vi.advanceTimersByTimeAsync(HEARTBEAT_INTERVAL_MS);
      latest().say({ type: 'pong' });
    }
    expect(conn.state).toBe('open');
    expect(FakeWebSocket.made).toHaveLength(1);
    expect(latest().pings()).toBe(30);
    expect(conn.message).toBeUndefined();
  });

  it('a frozen server (socket open, no answer) is "Disconnected" after the heartbeat timeout; the tab keeps trying and reads the queue again when it is back', async () => {
    const { conn } = open();
    const first = latest();
    first.accept();
    await vi.advanceTimersByTimeAsync(HEARTBEAT_INTERVAL_MS);
    first.say({ type: 'pong' });
    // From here the server answers nothing.
    await vi.advanceTimersByTimeAsync(HEARTBEAT_TIMEOUT_MS - 1);
    expect(conn.state).toBe('open');
    await vi.advanceTimersByTimeAsync(1);
    expect(conn.state).toBe('lost');
    expect(conn.message).toMatch(/^Disconnected from the studio server — reconnecting/);
    expect(first.readyState).toBe(FakeWebSocket.CLOSING); // given up, not waited for

    // Still frozen: an attempt that never opens is given up after the same timeout (its token check never
    // answers either), and another follows: the tab never stops trying.
    await vi.advanceTimersByTimeAsync(250);
    expect(FakeWebSocket.made).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(HEARTBEAT_TIMEOUT_MS * 2 + 500);
    expect(FakeWebSocket.made.length).toBeGreaterThanOrEqual(3);
    expect(conn.state).toBe('lost');

    // The server thaws: the next attempt opens, the banner goes and the queue is read again.
    const before = jobsListCalls();
    latest().accept();
    expect(conn.state).toBe('open');
    expect(conn.message).toBeUndefined();
    expect(conn.reconnects).toBe(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(jobsListCalls()).toBe(before + 1);
  });

  it('a dead server (socket closed) is "Disconnected" at once, and the tab reconnects with backoff', async () => {
    const { conn } = open(async () => 'unreachable');
    latest().accept();
    latest().die();
    expect(conn.state).toBe('lost');
    await vi.advanceTimersByTimeAsync(250);
    expect(FakeWebSocket.made).toHaveLength(2);
    latest().die(); // refused: the server is still down
    await vi.advanceTimersByTimeAsync(0);
    expect(conn.state).toBe('lost');
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeWebSocket.made).toHaveLength(3);
    latest().accept();
    expect(conn.state).toBe('open');
    expect(conn.reconnects).toBe(1);
  });

  it('a server restarted with a new token: the refusal is explained, and the tab stops knocking', async () => {
    const tokenCheck = vi.fn(async (): Promise<TokenCheck> => 'rejected');
    const { conn, channel } = open(tokenCheck);
    latest().accept();
    latest().die();
    await vi.advanceTimersByTimeAsync(250);
    latest().die(); // the restarted server refuses the upgrade (403)
    await vi.advanceTimersByTimeAsync(0);
    expect(tokenCheck).toHaveBeenCalledTimes(1);
    expect(conn.state).toBe('rejected');
    expect(conn.message).toBe(REJECTED_TOKEN_TEXT);
    const made = FakeWebSocket.made.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeWebSocket.made).toHaveLength(made);
    await expect(channel.call('jobs.list', {})).rejects.toMatchObject({ code: 'auth_rejected' });
  });
});
