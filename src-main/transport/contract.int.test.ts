// The contract test: every method of api.ts is called and every event subscribed, through the
// IPC transport (a fake ipcMain + the real preload client) and through the HTTP transport
// (WebSocket and POST). Methods and events are listed from api.ts, not from the registry the
// transports bind. A payload that violates a schema comes back as invalid_input and the server
// keeps serving.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventNames, methodNames, methods, type EventName, type MethodName, type StudioClient } from '../../src-shared/api';
import { typedCall, typedOn, type RawChannel, type RawReply } from '../../src-shared/client';
import { StudioError } from '../../src-shared/errors';
import { nodeAdapters } from '../core/node-adapters';
import { StudioCore } from '../core/studio';
import { createPreloadBridge, type IpcRendererLike } from '../shell/preload-client';
import { startHubEmulator, type HubEmulator } from '../../e2e/support/hub-emulator';
import { cachedSd3Repo } from '../testing/models/repo-fixture';
import { writeTinyModel } from '../../e2e/support/tiny-model';
import { BIG_SEED, EVENT_TRIGGERS, INVALID_SAMPLES, METHOD_EFFECTS, METHOD_SAMPLES, rememberResult, sampleMeta, tinyPixels, type SampleContext } from '../testing/contract-samples';
import { REPO } from '../testing/processes';
import { removeTempDirs, tempDir } from '../testing/temp';
import { createDispatcher } from './dispatch';
import { startHttpTransport, type HttpTransport } from './http';
import { bindIpc, type IpcMainLike, type InvokeEventLike } from './ipc';
import { pollUntil } from '../testing/poll';

class FakeIpc implements IpcMainLike, IpcRendererLike {
  handlers = new Map<string, (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>>();
  listeners = new Map<string, Set<(event: unknown, message: unknown) => void>>();
  frameUrl = 'studio://app/index.html';
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>) {
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string) {
    this.handlers.delete(channel);
  }
  async invoke(channel: string, ...args: unknown[]) {
    const h = this.handlers.get(channel);
    if (!h) throw new Error(`No handler for ${channel}`);
    // Electron clones arguments and results (structured clone): so do we.
    return structuredClone(await h({ senderFrame: { url: this.frameUrl, parent: null } }, ...structuredClone(args)));
  }
  on(channel: string, l: (event: unknown, message: unknown) => void) {
    if (!this.listeners.has(channel)) this.listeners.set(channel, new Set());
    this.listeners.get(channel)!.add(l);
  }
  removeListener(channel: string, l: (event: unknown, message: unknown) => void) {
    this.listeners.get(channel)?.delete(l);
  }
  webContents = {
    send: (channel: string, message: unknown) => {
      for (const l of this.listeners.get(channel) ?? []) l({}, structuredClone(message));
    },
    isDestroyed: () => false,
  };
}

function clientOf(channel: RawChannel, runtime: 'electron' | 'browser'): StudioClient {
  return {
    runtime,
    call: (m, p) => typedCall(channel, m, p),
    on: (e, l) => typedOn(channel, e, l),
    mediaUrl: () => '',
  };
}

function wsChannel(url: string): Promise<{ channel: RawChannel; ws: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let next = 1;
    const pending = new Map<number, (r: RawReply) => void>();
    const listeners = new Set<(e: string, p: unknown) => void>();
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data));
      if (msg.type === 'reply') {
        pending.get(msg.id)?.(msg.ok ? { ok: true, result: msg.result } : { ok: false, error: msg.error });
        pending.delete(msg.id);
      } else if (msg.type === 'event') for (const l of listeners) l(msg.event, msg.payload);
    });
    ws.on('error', reject);
    ws.on('open', () =>
      resolve({
        ws,
        channel: {
          call: (method, params) =>
            new Promise((res) => {
              const id = next++;
              pending.set(id, res);
              ws.send(JSON.stringify({ type: 'call', id, method, params }));
            }),
          onEvent: (l) => {
            listeners.add(l);
            return () => listeners.delete(l);
          },
        },
      }),
    );
  });
}

let core: StudioCore;
let hub: HubEmulator;
let seq = 0;
const newImage = async () => (await core.history.saveImage({ pixels: tinyPixels(++seq), meta: sampleMeta(`a lighthouse number ${seq}`) })).id;
const contexts: Record<string, SampleContext> = {};
let http: HttpTransport;
let ipc: FakeIpc;
let ws: WebSocket;
const clients: Record<string, StudioClient> = {};

beforeAll(async () => {
  const dataDir = tempDir();
  const repoDir = await cachedSd3Repo('contract-v1', { layout: 'tensorstack', seed: 11, transformerBytes: 2 * 1024 * 1024, t5Bytes: 64 * 1024 });
  // Slow, so that a download is still running when the pause sample runs.
  hub = await startHubEmulator({ repos: { 'test/tiny-sd35': { folder: repoDir } }, tokens: { hf_contractTestToken123: [] }, faults: { bytesPerSecond: 256 * 1024 }, lfsThreshold: 1024 * 1024 });
  const env = { HF_HOME: tempDir(), HF_ENDPOINT: hub.endpoint, HF_TOKEN: '' };
  core = await StudioCore.open({ dataDir, adapters: nodeAdapters(env), env, runtime: 'cli', appVersion: '0.0.0-test', listExecutionProviders: async () => [{ name: 'cpu', bundled: true }], workerEntry: path.join(REPO, 'out', 'main', 'worker.js') });
  // A CLI core does not run the queue; this test's core does, so the job.* events can be triggered for real.
  core.jobs.start({ runner: true });
  await core.api['settings.set']({ executionProvider: 'cpu' });
  const dispatch = createDispatcher(core.api);
  ipc = new FakeIpc();
  const binding = bindIpc(ipc, { dispatch, events: core.events });
  binding.attach(ipc.webContents);
  clients.ipc = clientOf(createPreloadBridge(ipc), 'electron');
  http = await startHttpTransport({ dispatch, events: core.events, dataRoot: dataDir, rendererDir: tempDir() });
  const conn = await wsChannel(`ws://127.0.0.1:${http.port}/ws?token=${http.token}`);
  ws = conn.ws;
  clients.websocket = clientOf(conn.channel, 'browser');
  const post: RawChannel = {
    call: async (method, params) => {
      const res = await fetch(`http://127.0.0.1:${http.port}/api/${method}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${http.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(params),
      });
      return (await res.json()) as RawReply;
    },
    onEvent: conn.channel.onEvent,
  };
  clients.post = clientOf(post, 'browser');
  const tinyModel = path.join(tempDir(), 'tiny-sd35');
  await writeTinyModel(tinyModel, { layout: 'optimum', io: 'fp32', size: 'micro' });
  for (const t of ['ipc', 'websocket', 'post']) {
    const folder = tempDir();
    fs.cpSync(repoDir, folder, { recursive: true });
    const imported = await core.models.import(folder);
    contexts[t] = { core, newImage, imageId: await newImage(), repo: 'test/tiny-sd35', folder, importedId: imported.id, tinyModel };
  }
});

afterAll(async () => {
  ws?.close();
  await http?.close();
  core?.close();
  await hub?.close();
  removeTempDirs();
});

describe.each(['ipc', 'websocket', 'post'])('contract over %s', (transport) => {
  it('has a sample for every method and a trigger for every event in api.ts', () => {
    expect(Object.keys(METHOD_SAMPLES).sort()).toEqual([...methodNames].sort());
    expect(Object.keys(EVENT_TRIGGERS).sort()).toEqual([...eventNames].sort());
  });

  it.each(methodNames.map((m) => [m]))('calls %s and gets a result of the declared shape', async (name) => {
    const method = name as MethodName;
    const params = await METHOD_SAMPLES[method](contexts[transport]!);
    const result = await clients[transport]!.call(method, params as never);
    expect(methods[method].result.safeParse(result).success).toBe(true);
    rememberResult(method, result, contexts[transport]!);
    // The effect, read back over the same transport (not only the result's shape).
    await METHOD_EFFECTS[method]?.(clients[transport]!, contexts[transport]!, result);
  });

  it('a 64-bit seed round-trips exactly through jobs.submit, the job.generationDone event, gallery.get and gallery.reuse', async () => {
    const client = clients[transport]!;
    const done: { generationId: number; imageId: number; seed?: string }[] = [];
    const off = client.on('job.generationDone', (p) => void done.push(p));
    try {
      const { tinyModel } = contexts[transport]!;
      const { generationIds } = await client.call('jobs.submit', {
        params: { prompt: 'a 64-bit seed', negativePrompt: '', model: tinyModel, steps: 1, guidance: 0, width: 64, height: 64, t5: false },
        sweep: { seeds: { mode: 'list', seeds: [BIG_SEED] } },
      });
      await pollUntil(() => done.some((d) => d.generationId === generationIds[0]), 1200, 50);
      const event = done.find((d) => d.generationId === generationIds[0]);
      expect(event?.seed).toBe(BIG_SEED);
      expect((await client.call('gallery.get', { id: event!.imageId })).seed).toBe(BIG_SEED);
      expect((await client.call('gallery.reuse', { id: event!.imageId })).seed).toBe(BIG_SEED);
    } finally {
      off();
    }
  }, 90_000);

  it.each(eventNames.map((e) => [e]))('delivers the %s event', async (name) => {
    const event = name as EventName;
    const client = clients[transport]!;
    const got = new Promise<unknown>((resolve) => {
      const off = client.on(event, (payload) => {
        off();
        resolve(payload);
      });
    });
    await EVENT_TRIGGERS[event](client, contexts[transport]!);
    const payload = await got;
    expect(payload).toBeTruthy();
  });

  it('answers a schema violation with invalid_input and keeps serving', async () => {
    const client = clients[transport]!;
    for (const [m, bad] of Object.entries(INVALID_SAMPLES)) {
      const err = await client.call(m as MethodName, bad as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StudioError);
      expect((err as StudioError).code).toBe('invalid_input');
    }
    const err2 = await client.call('settings.set', { modelsDir: 'relative/path' }).catch((e: unknown) => e);
    expect((err2 as StudioError).code).toBe('invalid_input');
    const err3 = await client.call('settings.set', { theme: 'x'.repeat(100_000) } as never).catch((e: unknown) => e);
    expect((err3 as StudioError).code).toBe('invalid_input');
    // Still serving.
    const info = await client.call('system.info', {});
    expect(info.appVersion).toBe('0.0.0-test');
  });
});

describe('transport edges', () => {
  it('rejects unknown methods over IPC and over WebSocket', async () => {
    const viaIpc = (await ipc.invoke('studio:call', { method: 'fs.readFile', params: { path: '/etc/passwd' } })) as RawReply;
    expect(viaIpc.ok).toBe(false);
    const bridge = createPreloadBridge(ipc);
    const viaBridge = await bridge.call('nope' as MethodName, {});
    expect(viaBridge.ok === false && viaBridge.error.code).toBe('invalid_input');
  });

  it('refuses IPC calls from a frame that is not the studio window', async () => {
    ipc.frameUrl = 'https://evil.example/';
    try {
      const reply = (await ipc.invoke('studio:call', { method: 'system.info', params: {} })) as RawReply;
      expect(reply.ok).toBe(false);
    } finally {
      ipc.frameUrl = 'studio://app/index.html';
    }
  });

  it('answers malformed WebSocket messages with an error and keeps the socket open', async () => {
    const replies: unknown[] = [];
    const onMsg = (d: WebSocket.RawData) => replies.push(JSON.parse(String(d)));
    ws.on('message', onMsg);
    ws.send('not json');
    ws.send(JSON.stringify({ type: 'call', id: 99, method: 'system.info', params: {}, extra: true }));
    await new Promise((r) => setTimeout(r, 200));
    ws.off('message', onMsg);
    expect(replies.length).toBe(2);
    expect(replies.every((r) => (r as { ok: boolean }).ok === false)).toBe(true);
    const info = await clients.websocket!.call('system.info', {});
    expect(info.runtime).toBe('cli');
  });

  it('settings set over one transport are read over another', async () => {
    await clients.ipc!.call('settings.set', { theme: 'dark' });
    expect((await clients.post!.call('settings.get', {})).theme).toBe('dark');
  });
});
