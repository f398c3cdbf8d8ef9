// The rules of "Add image-to-image support" (encoder-addition.ts) and the one-rename install of a new component
// folder (install.ts), on plain folders and rows; the download itself is encoder-addition.int.test.ts's.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requiredFiles } from '../../model-folder/layouts';
import { rejection } from '../../testing/errors';
import { encoderTarget, isEncoderAddition, isEncoderPath, narrowToEncoder, requireEncoder } from './encoder-addition';
import { installStaged } from './install';
import { ModelsRoot } from './models-root';
import { planDownload } from './selection';
import type { FileRow, ModelRow } from './store';

const COMMIT = 'c'.repeat(40);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-enc-'));
  dirs.push(d);
  return d;
}

function row(over: Partial<ModelRow> = {}): ModelRow {
  return {
    id: 'acme/m',
    source: 'hub',
    repo: 'acme/m',
    revision: 'main',
    installedCommit: COMMIT,
    path: '/models/acme--m/c',
    layout: 'tensorstack',
    t5: false,
    sizeBytes: 1,
    verifiedAt: null,
    downloadCommit: null,
    downloadT5: null,
    downloadState: null,
    errorCode: null,
    errorMessage: null,
    createdAt: 0,
    updatedAt: 0,
    ...over,
  };
}
function fileRow(p: string, state: FileRow['state'] = 'installed'): FileRow {
  return { modelId: 'acme/m', commit: COMMIT, path: p, size: 10, expectedSha256: null, gitOid: null, etag: null, bytesDone: 0, sha256: null, state };
}

describe('what an encoder addition is', () => {
  const listing = [...requiredFiles('tensorstack', { t5: false }), 'unet/model.onnx.data', 'tokenizer/tokenizer_config.json', 'vae_encoder/model.onnx', 'vae_encoder/model.onnx.data'];
  const tree = listing.map((p, i) => ({ path: p, size: 100 + i, oid: 'a'.repeat(40), ...(p.endsWith('.data') ? { lfsSha256: 'b'.repeat(64) } : {}) }));

  it('narrows the plan to the installed files and the encoder: a file the model never had is not fetched', () => {
    const plan = planDownload('acme/m', tree, { t5: false, pageUrl: 'u' });
    const installed = listing.filter((p) => !p.startsWith('vae_encoder/') && p !== 'tokenizer/tokenizer_config.json').map((p) => fileRow(p));
    const narrowed = narrowToEncoder(plan, installed, 'acme/m', COMMIT);
    const paths = narrowed.files.map((f) => f.path);
    expect(paths).toContain('vae_encoder/model.onnx');
    expect(paths).toContain('vae_encoder/model.onnx.data');
    expect(paths).not.toContain('tokenizer/tokenizer_config.json');
    expect(paths.length).toBe(installed.length + 2);
    expect(narrowed.totalBytes).toBe(narrowed.files.reduce((s, f) => s + f.size, 0));
    // The encoder's sha256 is the tree's LFS one, as the main download takes it.
    expect(narrowed.files.find((f) => f.path === 'vae_encoder/model.onnx.data')?.expectedSha256).toBe('b'.repeat(64));
  });

  it('refuses a commit without the encoder graph, naming it', () => {
    const plan = planDownload('acme/m', tree.filter((e) => e.path !== 'vae_encoder/model.onnx'), { t5: false, pageUrl: 'u' });
    expect(() => narrowToEncoder(plan, [], 'acme/m', COMMIT)).toThrow(/acme\/m has no VAE encoder \(vae_encoder\/model\.onnx\) at commit cccccccccc/);
  });

  it('encoder paths, at the root or under a model subfolder', () => {
    expect(isEncoderPath('vae_encoder/model.onnx')).toBe(true);
    expect(isEncoderPath('sd_io32/vae_encoder/model.onnx.data')).toBe(true);
    expect(isEncoderPath('vae_decoder/model.onnx')).toBe(false);
    expect(isEncoderPath('a/b/vae_encoder/model.onnx')).toBe(false);
    expect(isEncoderPath('sd_io32/vae_encoder/model.onnx', '')).toBe(false);
    expect(isEncoderPath('sd_io32/vae_encoder/model.onnx', 'sd_io32')).toBe(true);
  });

  it('a stored download is an encoder addition when it is pinned at the installed commit and only the encoder is pending', () => {
    const stored = row({ downloadCommit: COMMIT, downloadT5: false, downloadState: 'paused' });
    const files = [fileRow('unet/model.onnx'), fileRow('vae_encoder/model.onnx', 'verified'), fileRow('vae_encoder/model.onnx.data', 'pending')];
    expect(isEncoderAddition(stored, files)).toBe(true);
    expect(isEncoderAddition(stored, [...files, fileRow('text_encoder_3/model.onnx', 'pending')])).toBe(false);
    expect(isEncoderAddition({ ...stored, downloadCommit: 'd'.repeat(40) }, files)).toBe(false);
    // Adding T5 at the same commit is not one.
    expect(isEncoderAddition({ ...stored, downloadT5: true }, files)).toBe(false);
    expect(isEncoderAddition(stored, [fileRow('unet/model.onnx')])).toBe(false);
  });

  it('which models may have one, in words', () => {
    expect(encoderTarget('acme/m', row())).toMatchObject({ repo: 'acme/m', commit: COMMIT, t5: false });
    expect(() => encoderTarget('x', undefined)).toThrow(/not installed/);
    expect(() => encoderTarget('folder:m', row({ id: 'folder:m', source: 'import', repo: null, installedCommit: null, path: '/data/m' }))).toThrow(
      /imported from the folder \/data\/m, so there is no Hugging Face repository/,
    );
    expect(() => encoderTarget('acme/m', row({ downloadCommit: 'd'.repeat(40), downloadState: 'paused' }))).toThrow(/download of another version \(paused\)/);
  });

  it('jobs.submit refuses image to image on a model without the encoder, pointing at the button or the folder', async () => {
    const models = {
      resolveInstalled: async (id: string) => {
        if (id === 'acme/m') return { id, path: '/m', repo: 'acme/m' };
        if (id === 'folder:m') return { id, path: '/f' };
        throw new Error('not installed');
      },
    };
    const hub = await rejection(requireEncoder(models, 'acme/m', () => false));
    expect(hub).toMatchObject({ code: 'invalid_input' });
    expect(hub.message).toContain('"Add image-to-image support" on the model\'s card in the Models view (or `sd35-studio models add-encoder acme/m`)');
    expect((await rejection(requireEncoder(models, 'folder:m', () => false))).message).toContain('copy the vae_encoder/ folder of its export into /f');
    await requireEncoder(models, 'acme/m', () => true);
    await requireEncoder(models, '/not/installed', () => false);
  });
});

describe('installStaged', () => {
  async function staged(files: Record<string, string>): Promise<{ root: ModelsRoot; staging: string; final: string }> {
    const models = tmp();
    const staging = path.join(models, '.staging', 'acme--m', COMMIT);
    const final = path.join(models, 'acme--m', COMMIT);
    for (const [p, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(staging, p)), { recursive: true });
      fs.writeFileSync(path.join(staging, p), text);
    }
    fs.mkdirSync(path.join(final, 'unet'), { recursive: true });
    fs.writeFileSync(path.join(final, 'unet', 'model.onnx'), 'installed');
    return { root: new ModelsRoot(models), staging, final };
  }

  it('moves a component folder new to the install with one rename (the same folder, never half of it)', async () => {
    const { root, staging, final } = await staged({ 'vae_encoder/model.onnx': 'g', 'vae_encoder/model.onnx.data': 'w' });
    const inode = fs.statSync(path.join(staging, 'vae_encoder')).ino;
    await installStaged(root, staging, final, [{ path: 'vae_encoder/model.onnx' }, { path: 'vae_encoder/model.onnx.data' }]);
    expect(fs.statSync(path.join(final, 'vae_encoder')).ino).toBe(inode);
    expect(fs.readdirSync(path.join(final, 'vae_encoder')).sort()).toEqual(['model.onnx', 'model.onnx.data']);
    expect(fs.readFileSync(path.join(final, 'unet', 'model.onnx'), 'utf8')).toBe('installed');
    expect(fs.existsSync(staging)).toBe(false);
  });

  it('moves file by file into a folder that exists, and when the staged folder holds anything else', async () => {
    const a = await staged({ 'unet/model.onnx.data': 'w' });
    await installStaged(a.root, a.staging, a.final, [{ path: 'unet/model.onnx.data' }]);
    expect(fs.readdirSync(path.join(a.final, 'unet')).sort()).toEqual(['model.onnx', 'model.onnx.data']);
    const b = await staged({ 'vae_encoder/model.onnx': 'g', 'vae_encoder/model.onnx.data.part': 'partial' });
    const inode = fs.statSync(path.join(b.staging, 'vae_encoder')).ino;
    await installStaged(b.root, b.staging, b.final, [{ path: 'vae_encoder/model.onnx' }]);
    expect(fs.statSync(path.join(b.final, 'vae_encoder')).ino).not.toBe(inode);
    expect(fs.readdirSync(path.join(b.final, 'vae_encoder'))).toEqual(['model.onnx']);
  });
});
