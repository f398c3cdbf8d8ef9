// ModelService without downloads: the catalog listing, importing local folders in either layout
// (validated, registered without copying), verify/remove of imports, resolveInstalled, and
// resumePending on a fresh start.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../../e2e/support/tiny-model';
import { CATALOG_IDS } from '../../../src-shared/catalog';
import { makeHarness, type Harness } from '../../testing/models/harness';
import { onnxModel, tempDir, writeSd3Repo } from '../../testing/models/repo-fixture';
import { rejection } from '../../testing/errors';
import { LoadedModel } from '../../inference/sessions';
import { modelGraphsDir } from '../../model-folder/derived-graphs';

const KiB = 1024;
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

function harness(): Harness {
  // No hub is needed: point at a closed port so any request would fail loudly.
  const h = makeHarness({ endpoint: 'http://127.0.0.1:9' });
  cleanup.push(() => h.close());
  return h;
}

function folder(): string {
  const d = tempDir('import');
  cleanup.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}


describe('list', () => {
  it('shows the three catalog variants, not installed, on a fresh data folder', async () => {
    const h = harness();
    const list = await h.service.list();
    expect(list.map((e) => e.id)).toEqual([...CATALOG_IDS]);
    for (const e of list) expect(e).toMatchObject({ source: 'catalog', state: 'not-installed', sizeOnDisk: 0 });
    expect(list[0]!.repo).toBe('TensorStack/stable-diffusion-3.5-medium-onnx');
    expect(await h.service.resumePending()).toEqual([]);
    expect((await rejection(h.service.resolveInstalled('sd3.5-medium'))).message).toContain('sd35-studio models download sd3.5-medium');
  });
});

describe('import', () => {
  it('a bare folder name is not an id: not_found suggests folder:<name> and lists the installed ids', async () => {
    const h = harness();
    const dir = path.join(folder(), 'tiny');
    await writeSd3Repo(dir, { layout: 'optimum', seed: 6, transformerBytes: 64 * KiB, t5Bytes: 64 * KiB, clipGBytes: 64 * KiB });
    const entry = await h.service.import(dir);
    expect(entry.id).toBe('folder:tiny');
    const err = await rejection(h.service.resolveInstalled('tiny'));
    expect(err).toMatchObject({ code: 'not_found', details: { model: 'tiny', installed: ['folder:tiny'] } });
    expect(err.message).toMatch(/Did you mean folder:tiny\? Installed: folder:tiny\./);
    expect((await rejection(h.service.get('nothing-like-it'))).message).toMatch(/Installed: folder:tiny\.$/);
  });

  it.each(['tensorstack', 'optimum'] as const)('registers a %s folder without copying it', async (layout) => {
    const h = harness();
    const dir = path.join(folder(), `my-${layout}`);
    await writeSd3Repo(dir, { layout, seed: 5, transformerBytes: 256 * KiB, t5Bytes: 64 * KiB, clipGBytes: 64 * KiB, clutter: true });
    const before = fs.readdirSync(h.dataDir);
    const entry = await h.service.import(dir);
    expect(entry).toMatchObject({ id: `folder:my-${layout}`, source: 'import', state: 'installed', installed: { path: dir, layout, t5: true } });
    expect(entry.sizeOnDisk).toBeGreaterThan(256 * KiB);
    expect(fs.readdirSync(h.dataDir)).toEqual(before);
    expect(fs.existsSync(h.modelsDir)).toBe(false);
    // Importing again returns the same entry; a second folder of that name gets its own id.
    expect((await h.service.import(dir + path.sep)).id).toBe(entry.id);
    expect((await h.service.resolveInstalled(entry.id)).path).toBe(dir);
    expect((await h.service.list()).filter((e) => e.source === 'import')).toHaveLength(1);
    const verified = await h.service.verify(entry.id);
    expect(verified).toMatchObject({ ok: true, method: 'structure' });
    // Its derived graphs (derived-graphs.ts) go with it; the folder itself stays.
    const derived = path.join(modelGraphsDir(path.join(h.dataDir, 'graphs'), dir), 'transformer');
    fs.mkdirSync(derived, { recursive: true });
    fs.writeFileSync(path.join(derived, 'portable-0.onnx'), 'x');
    await h.service.remove(entry.id);
    expect(fs.existsSync(modelGraphsDir(path.join(h.dataDir, 'graphs'), dir))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'model_index.json'))).toBe(true);
    expect((await h.service.list()).some((e) => e.id === entry.id)).toBe(false);
  });

  it('accepts a folder without T5 as a "without T5" model', async () => {
    const h = harness();
    const dir = path.join(folder(), 'no-t5');
    await writeSd3Repo(dir, { layout: 'tensorstack', seed: 6, transformerBytes: 64 * KiB, noT5: true });
    expect((await h.service.import(dir)).installed?.t5).toBe(false);
  });

  it('accepts the tiny models the inference tests generate', async () => {
    const h = harness();
    for (const layout of ['optimum', 'tensorstack'] as const) {
      const dir = path.join(folder(), `tiny-${layout}`);
      await writeTinyModel(dir, { layout, io: 'fp16', size: 'micro' });
      const entry = await h.service.import(dir);
      expect(entry.installed).toMatchObject({ layout, t5: true });
    }
  });

  it('says per installed model whether Skip-Layer Guidance can run: the joint blocks, or the reason (read once per graph file)', async () => {
    const h = harness();
    const medium = path.join(folder(), 'tiny-medium');
    await writeTinyModel(medium, { layout: 'tensorstack', io: 'fp16', size: 'micro', mmdit: 'medium' });
    const plain = path.join(folder(), 'tiny-plain');
    await writeTinyModel(plain, { layout: 'optimum', io: 'fp32', size: 'micro' });
    expect((await h.service.import(medium)).installed?.skipLayers).toEqual({ available: true, blocks: 4 });
    expect((await h.service.import(plain)).installed?.skipLayers).toEqual({
      available: false,
      reason: expect.stringMatching(/^Skip-Layer Guidance is not available for this model: its transformer graph has no nodes named \/transformer_blocks\.N\//),
    });
    // The graph replaced by one without block names: the list says so (the cache follows the file).
    const graph = path.join(medium, 'unet', 'model.onnx');
    fs.copyFileSync(path.join(plain, 'transformer', 'model.onnx'), graph);
    fs.utimesSync(graph, new Date(), new Date(Date.now() + 5000));
    const listed = (await h.service.list()).find((m) => m.installed?.path === fs.realpathSync(medium) || m.installed?.path === medium);
    expect(listed?.installed?.skipLayers?.available).toBe(false);
  });

  it('refuses a folder with a missing file, a truncated graph or short external data, saying which', async () => {
    const h = harness();
    const base = folder();
    const make = async (name: string) => {
      const dir = path.join(base, name);
      await writeSd3Repo(dir, { layout: 'tensorstack', seed: 7, transformerBytes: 128 * KiB });
      return dir;
    };
    const missing = await make('missing');
    fs.rmSync(path.join(missing, 'vae_decoder', 'model.onnx'));
    let err = await rejection(h.service.import(missing));
    expect(err.code).toBe('invalid_input');
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('vae_decoder/model.onnx is missing');

    const truncated = await make('truncated');
    const graph = path.join(truncated, 'unet', 'model.onnx');
    fs.truncateSync(graph, fs.statSync(graph).size - 10);
    err = await rejection(h.service.import(truncated));
    expect(err.message).toMatch(/unet\/model\.onnx is not a readable ONNX model/);

    const short = await make('short');
    fs.truncateSync(path.join(short, 'unet', 'model.onnx.data'), 1000);
    err = await rejection(h.service.import(short));
    expect(err.message).toMatch(/model\.onnx\.data beside model\.onnx is 1000 bytes/);

    const noExt = await make('no-external');
    fs.rmSync(path.join(noExt, 'unet', 'model.onnx.data'));
    err = await rejection(h.service.import(noExt));
    expect(err.message).toContain('unet/model.onnx.data is missing (unet/model.onnx keeps its weights there)');

    const notOnnx = await make('not-onnx');
    fs.writeFileSync(path.join(notOnnx, 'text_encoder', 'model.onnx'), '<html>Access denied</html>');
    err = await rejection(h.service.import(notOnnx));
    expect(err.message).toContain('text_encoder/model.onnx does not start like an ONNX model');

    err = await rejection(h.service.import(path.join(base, 'nowhere')));
    expect(err.message).toContain('does not exist');
    const plain = path.join(base, 'plain');
    fs.mkdirSync(plain);
    err = await rejection(h.service.import(plain));
    expect(err.message).toContain('neither transformer/model.onnx');
    expect((await h.service.list()).filter((e) => e.source === 'import')).toEqual([]);
  });

  it('a verify of an imported folder notices a file that went missing', async () => {
    const h = harness();
    const dir = path.join(folder(), 'later-broken');
    await writeSd3Repo(dir, { layout: 'optimum', seed: 8, transformerBytes: 64 * KiB });
    const entry = await h.service.import(dir);
    fs.rmSync(path.join(dir, 'transformer', 'model.onnx_data'));
    const result = await h.service.verify(entry.id);
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toContain('model.onnx_data');
  });
});

describe('one answer for import and the pipeline', () => {
  const cases: { name: string; damage: (dir: string) => void; ok: boolean; text?: string }[] = [
    { name: 'complete', damage: () => undefined, ok: true },
    { name: 'without tokenizer/special_tokens_map.json', damage: (d) => fs.rmSync(path.join(d, 'tokenizer', 'special_tokens_map.json')), ok: false },
    { name: 'without scheduler_config.json', damage: (d) => fs.rmSync(path.join(d, 'scheduler', 'scheduler_config.json')), ok: false },
    { name: 'without tokenizer_3/tokenizer.json', damage: (d) => fs.rmSync(path.join(d, 'tokenizer_3', 'tokenizer.json')), ok: false },
    { name: 'without text_encoder_3/', damage: (d) => fs.rmSync(path.join(d, 'text_encoder_3'), { recursive: true }), ok: true },
    // External data named outside the graph's folder (an existing file there): refused by both before any stat.
    ...['../text_encoder/model.onnx_data', '/etc/hostname'].map((location) => ({
      name: `a VAE whose external data is ${location}`,
      damage: (d: string) => fs.writeFileSync(path.join(d, 'vae_decoder', 'model.onnx'), onnxModel({ external: { location, length: 10 } })),
      ok: false,
      text: `vae_decoder/model.onnx points at external data outside its folder (${location})`,
    })),
  ];
  for (const c of cases) {
    it(`gives models.import and the pipeline's folder check the same answer: ${c.name}`, async () => {
      const h = harness();
      const dir = folder();
      await writeTinyModel(dir, { layout: 'optimum', io: 'fp32', size: 'micro' });
      c.damage(dir);
      const imported = await h.service.import(dir).then(
        () => 'ok',
        (err: Error) => err.message,
      );
      const loaded = await LoadedModel.load(dir, { ep: 'cpu', memory: 'low', threads: 1 }).then(
        async (m) => {
          await m.release();
          return 'ok';
        },
        (err: Error) => err.message,
      );
      expect(imported === 'ok', `import: ${imported}`).toBe(c.ok);
      expect(loaded === 'ok', `pipeline: ${loaded}`).toBe(c.ok);
      if (c.text) {
        expect(imported).toContain(c.text);
        expect(loaded).toContain(c.text);
      } else if (!c.ok) {
        // Both name the same missing file.
        const file = /([a-z_0-9]+\/[a-z_.]+) is missing/.exec(imported)?.[1];
        expect(file).toBeDefined();
        expect(loaded).toContain(`${file} is missing`);
      }
    });
  }
});
