// Importing and removing upscalers over the contract (upscalers.upload / import / remove, upscalers.changed;
// docs/architecture.md §2, §5 "Upscale"), over a real StudioCore and the real inference worker (out/main/worker.js:
// run `npm run -s build` first) with the tiny ×2 super-resolution graph (e2e/support/tiny-sr.ts): a browser's upload
// is checked, copied (verified by hash) and probed ×2 on the worker, with progress in THE progress shape; a path
// works from the desktop app and never in browser mode; a graph that is not image → image, a file that is not ONNX,
// an unreadable file and a name already taken are StudioErrors naming the user's file that leave nothing in
// <data>/upscalers; remove takes it out of the list and the folder.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSrGraph, writeTextEncoderGraph } from '../../../e2e/support/tiny-sr';
import type { EventName } from '../../../src-shared/api';
import { StudioError } from '../../../src-shared/errors';
import type { UpscalersEvent } from '../../../src-shared/upscale';
import { REPO } from '../../testing/processes';
import { removeTempDirs, tempDir } from '../../testing/temp';
import { nodeAdapters } from '../node-adapters';
import { StudioCore } from '../studio';

const WORKER = path.join(REPO, 'out', 'main', 'worker.js');
const ENV = { ...process.env, SD35_ORT_THREADS: '1', HF_ENDPOINT: 'http://127.0.0.1:9' };
let sr: Buffer;
let notImage: Buffer;

beforeAll(() => {
  const dir = tempDir('sd35-upscaler-import-');
  writeSrGraph(path.join(dir, 'tiny-x2.onnx'), 'float32');
  sr = fs.readFileSync(path.join(dir, 'tiny-x2.onnx'));
  writeTextEncoderGraph(path.join(dir, 'text_encoder.onnx'));
  notImage = fs.readFileSync(path.join(dir, 'text_encoder.onnx'));
});
afterAll(removeTempDirs);

async function open(runtime: 'electron' | 'browser'): Promise<{ core: StudioCore; dataDir: string; events: { name: EventName; payload: unknown }[] }> {
  const dataDir = tempDir();
  const core = await StudioCore.open({ dataDir, adapters: nodeAdapters(ENV), env: ENV, runtime, appVersion: '0.0.0-test', workerEntry: WORKER });
  const events: { name: EventName; payload: unknown }[] = [];
  core.events.subscribe((name, payload) => events.push({ name, payload }));
  return { core, dataDir, events };
}

/** Sends bytes as the browser does: ordered chunks through upscalers.upload; the upload id. */
async function upload(core: StudioCore, bytes: Buffer, chunk = 1000): Promise<string> {
  let uploadId: string | undefined;
  for (let offset = 0; offset < bytes.length; offset += chunk) {
    const r = await core.api['upscalers.upload']({ ...(uploadId ? { uploadId } : {}), offset, dataBase64: bytes.subarray(offset, offset + chunk).toString('base64') });
    uploadId = r.uploadId;
  }
  return uploadId!;
}

/** Everything under <data>/upscalers, dot files and the uploads folder's files included. */
function upscalerFiles(dataDir: string): string[] {
  const dir = path.join(dataDir, 'upscalers');
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}

async function refusal(p: Promise<unknown>): Promise<StudioError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StudioError);
  return err as StudioError;
}

describe('upscalers.import / upscalers.remove from the app', () => {
  it('browser mode: an upload of the tiny ×2 graph is checked, copied (sha256), probed ×2 on the worker, with progress; remove takes it out', async () => {
    const { core, dataDir, events } = await open('browser');
    try {
      const uploadId = await upload(core, sr);
      const { imported } = await core.api['upscalers.import']({ file: { uploadId, fileName: 'C:\\models\\RealESRGAN tiny_x2.onnx', name: 'tiny-x2' } });
      const sha = crypto.createHash('sha256').update(sr).digest('hex');
      expect(imported).toEqual({ name: 'tiny-x2', scale: 2, bytes: sr.length, sha256: sha });
      expect((await core.api['upscalers.list']({})).upscalers).toEqual([imported]);
      // The library's file is the upload's bytes; the upload is gone.
      expect(upscalerFiles(dataDir)).toEqual(['.index.json', 'tiny-x2.onnx']);
      expect(Buffer.compare(fs.readFileSync(path.join(dataDir, 'upscalers', 'tiny-x2.onnx')), sr)).toBe(0);
      // THE progress shape on upscalers.changed: the copy in bytes, the probe run, the end.
      const progress = events.filter((e) => e.name === 'upscalers.changed').map((e) => (e.payload as UpscalersEvent).progress!);
      expect(progress.map((p) => `${p.task} ${p.status} ${p.done}/${p.total}`)).toEqual([
        `verify running 0/${sr.length}`,
        `verify running ${sr.length}/${sr.length}`,
        'import running 0/1',
        'import done 1/1',
      ]);
      expect(progress[2]!.label).toBe('Finding the scale of RealESRGAN tiny_x2.onnx (a probe run on the worker)');
      // The probe ran on the worker (the queue's host), not in this process.
      expect(core.jobs.inferenceHost().stats.spawns).toBe(1);

      // A path is never taken from a browser client.
      const file = path.join(tempDir(), 'other.onnx');
      fs.writeFileSync(file, sr);
      expect((await refusal(core.api['upscalers.import']({ file: { path: file } }))).message).toMatch(/In browser mode, an upscaler is uploaded/u);

      expect((await core.api['upscalers.remove']({ name: 'tiny-x2' })).removed).toEqual(imported);
      expect((await core.api['upscalers.list']({})).upscalers).toEqual([]);
      expect(upscalerFiles(dataDir)).toEqual(['.index.json']);
      expect(events.filter((e) => e.name === 'upscalers.changed').at(-1)!.payload).toEqual({ kind: 'remove' });
      expect((await refusal(core.api['upscalers.remove']({ name: 'tiny-x2' }))).code).toBe('not_found');
    } finally {
      core.close();
    }
  }, 120_000);

  it('refuses a graph that is not image → image, a file that is not ONNX, an unreadable file and a taken name: nothing left behind', async () => {
    const { core, dataDir, events } = await open('browser');
    try {
      const before = upscalerFiles(dataDir);
      // Not image → image (a text encoder): the reason names what the graph has, and the user's file name.
      const textId = await upload(core, notImage);
      const text = await refusal(core.api['upscalers.import']({ file: { uploadId: textId, fileName: 'text_encoder.onnx' } }));
      expect(text.code).toBe('invalid_input');
      expect(text.message).toMatch(/not an image → image upscaler.*input_ids int64\[batch,77\]/u);
      // Not ONNX at all: named by the user's file, never by the server's upload path.
      const junkId = await upload(core, Buffer.from('this is not a protobuf at all, just words '.repeat(20)));
      const junk = await refusal(core.api['upscalers.import']({ file: { uploadId: junkId, fileName: 'notes.onnx' } }));
      expect(junk.code).toBe('invalid_input');
      expect(junk.message).toMatch(/^notes\.onnx is not a readable ONNX model/u);
      expect(junk.message).not.toContain(dataDir);
      expect(junk.details?.file).toBeUndefined();
      expect(upscalerFiles(dataDir)).toEqual(before);
      expect((await core.api['upscalers.list']({})).upscalers).toEqual([]);
      // A failed import says so in THE progress shape.
      expect(events.filter((e) => e.name === 'upscalers.changed').map((e) => (e.payload as UpscalersEvent).progress?.status).filter((s) => s !== 'running')).toEqual(['failed', 'failed']);
      // No worker was started for a graph the reader refuses.
      expect(core.jobs.inferenceHost().stats.spawns).toBe(0);
    } finally {
      core.close();
    }
    // The desktop app names files by path: an unreadable one and a taken name.
    const app = await open('electron');
    try {
      const dir = tempDir();
      const file = path.join(dir, 'tiny-x2.onnx');
      fs.writeFileSync(file, sr);
      const { imported } = await app.core.api['upscalers.import']({ file: { path: file } });
      expect(imported).toMatchObject({ name: 'tiny-x2', scale: 2 });
      const listed = upscalerFiles(app.dataDir);
      const taken = await refusal(app.core.api['upscalers.import']({ file: { path: file, name: 'TINY-x2' } }));
      expect(taken.code).toBe('conflict');
      expect(taken.message).toBe('An upscaler named "TINY-x2" is already in the library.');
      expect((await refusal(app.core.api['upscalers.import']({ file: { path: path.join(dir, 'missing.onnx') } }))).code).toBe('not_found');
      expect((await refusal(app.core.api['upscalers.import']({ file: { path: 'relative/x.onnx' } }))).message).toMatch(/Not an absolute path/u);
      expect((await refusal(app.core.api['upscalers.import']({ file: { path: dir } }))).message).toBe(`${dir} is not a file.`);
      // A file its owner cannot read (not checkable as root, who reads it anyway).
      if (process.getuid?.() !== 0) {
        const locked = path.join(dir, 'locked.onnx');
        fs.writeFileSync(locked, sr, { mode: 0o000 });
        const e = await refusal(app.core.api['upscalers.import']({ file: { path: locked } }));
        expect(e.message).toMatch(/locked\.onnx .*(cannot be read \(EACCES\)|not a readable ONNX model)/u);
      }
      expect(upscalerFiles(app.dataDir)).toEqual(listed);
      expect((await app.core.api['upscalers.list']({})).upscalers.map((u) => u.name)).toEqual(['tiny-x2']);
    } finally {
      app.core.close();
    }
  }, 120_000);
});
