// Stability AI's own ONNX exports as a model source (docs/architecture.md §4), against the hub emulator serving a
// repo of their shape (e2e/support/stability-repo.ts: the model in `…_io16/` and `…_io32/` subfolders, a quantised
// T5, a VAE encoder, an empty config.json): the model root is found from the repo tree, only that subfolder's
// needed files are fetched (graphs first, with the op verdict), and the installed folder verifies, imports and loads.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubEmulator, type HubEmulator } from '../../../e2e/support/hub-emulator';
import { writeStabilityRepo } from '../../../e2e/support/stability-repo';
import { checkModelOps } from '../../inference/available';
import { generate } from '../../inference/pipeline';
import { LoadedModel } from '../../inference/sessions';
import { checkFolder } from '../../model-folder/layouts';
import { makeHarness, type Harness } from '../../testing/models/harness';
import { tempDir } from '../../testing/models/repo-fixture';

const REPO = 'stabilityai/stable-diffusion-3.5-medium_amdgpu';
const ROOT = 'stable-diffusion-3.5-medium_io32';

let hub: HubEmulator;
let root: string;
let repoDir: string;
let h: Harness;

beforeAll(async () => {
  root = tempDir('stability');
  repoDir = path.join(root, 'repo');
  await writeStabilityRepo(repoDir);
  hub = await startHubEmulator({ repos: { [REPO]: { folder: repoDir, gated: 'token' } }, tokens: { hf_test_token_1: [REPO] }, lfsThreshold: 1024 });
  h = makeHarness({ endpoint: hub.endpoint, env: { HF_TOKEN: 'hf_test_token_1' }, checkOps: (graphs) => checkModelOps(graphs, { cacheDir: path.join(root, 'op-probes') }) });
}, 120_000);

afterAll(async () => {
  await h?.close();
  await hub?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe("Stability's AMD exports (subfolder-rooted, quantised T5)", () => {
  let installed: string;

  it('downloads only the _io32 model root: graphs first with an honest verdict, no io16 files', async () => {
    const handle = await h.service.download(REPO);
    const result = await handle.done;
    const paths = result.files.map((f) => f.path);
    expect(paths.every((p) => p.startsWith(`${ROOT}/`))).toBe(true);
    expect(paths).toEqual(expect.arrayContaining([`${ROOT}/unet/model.onnx`, `${ROOT}/text_encoder_3/model.onnx`, `${ROOT}/text_encoder_3/model.onnx.data`, `${ROOT}/tokenizer_3/tokenizer.json`]));
    expect(paths.some((p) => p === `${ROOT}/config.json` || p.includes('_io16'))).toBe(false);
    const verdict = h.events.find((e) => e.type === 'download-verdict');
    expect(verdict).toMatchObject({ type: 'download-verdict', verdict: { provider: 'cpu', blocked: [] } });
    expect(['runs', 'rewrites']).toContain((verdict as { verdict: { verdict: string } }).verdict.verdict);
    // The verdict came before any weight file was fetched.
    const verdictAt = h.events.indexOf(verdict!);
    const firstWeight = h.events.findIndex((e) => e.type === 'file-verified' && e.path.endsWith('.data'));
    expect(firstWeight).toBeGreaterThan(verdictAt);
    const entry = await h.service.get(REPO);
    installed = entry.installed!.path;
    expect(path.basename(installed)).toBe(ROOT);
    expect(entry.installed).toMatchObject({ layout: 'tensorstack', t5: true });
    expect(h.service.modelHash(REPO, entry.installed!.commit)).toMatch(/^[0-9a-f]{10}$/);
  });

  it('verifies every file against the Hub hashes, and a flipped byte in the model root is caught', async () => {
    const ok = await h.service.verify(REPO);
    expect(ok).toMatchObject({ ok: true, method: 'hashes', problems: [] });
    expect(ok.files.length).toBeGreaterThan(10);
    const file = path.join(installed, 'text_encoder_3', 'model.onnx.data');
    const bytes = fs.readFileSync(file);
    bytes[100] = bytes[100]! ^ 0xff;
    fs.writeFileSync(file, bytes);
    const bad = await h.service.verify(REPO);
    expect(bad.ok).toBe(false);
    expect(bad.problems.join('\n')).toContain(`${ROOT}/text_encoder_3/model.onnx.data has sha256`);
    bytes[100] = bytes[100]! ^ 0xff;
    fs.writeFileSync(file, bytes);
  });

  it('imports a local copy of the whole repo: the check finds the model root in its subfolder', async () => {
    const check = await checkFolder(repoDir);
    expect(check).toMatchObject({ ok: true, layout: 'tensorstack', t5: true, problems: [] });
    const entry = await h.service.import(repoDir);
    expect(entry).toMatchObject({ source: 'import', state: 'installed', installed: { layout: 'tensorstack', t5: true } });
  });

  it('loads and generates from the installed folder on the CPU (quantised T5, fp32 I/O)', async () => {
    const model = await LoadedModel.load(installed, { ep: 'cpu', memory: 'low', threads: 1 });
    try {
      const out = await generate(model, { prompt: 'a photo of a cat', negativePrompt: '', seed: '3', steps: 2, guidance: 4.5, width: 64, height: 64, t5: true });
      expect(out.rgb.length).toBe(64 * 64 * 3);
      expect(out.t5).toBe(true);
    } finally {
      await model.release();
    }
  });

  it('removing the model deletes its whole commit folder', async () => {
    const commitDir = path.dirname(installed);
    await h.service.remove(REPO);
    expect(fs.existsSync(commitDir)).toBe(false);
  });
});
