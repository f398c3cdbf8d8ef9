// `sd35-studio generate` as scripts use it (node out/main/cli.js), on a tiny fp16 model: JSON lines, the PNG
// in the history with its metadata, reproducibility by seed, usage errors (exit 2), a missing model (exit 7),
// Ctrl+C at the test hold point (exit 8).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { version as APP_VERSION } from '../../../package.json';
import { writeTinyModel } from '../../../e2e/support/tiny-model';
import { PARAMETERS_KEYWORD, STUDIO_KEYWORD, parseTextChunks } from '../../../src-shared/metadata';
import { readPngInfo } from '../../formats/png';
import { CLI, callApi, startServe, stop } from '../../testing/processes';
import { removeTempDirs, tempDir } from '../../testing/temp';

const ENV = { SD35_ORT_THREADS: '1' };

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...ENV, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

let model: string;
let olive: string;
let dataDir: string;

const BASE = ['--steps', '4', '--width', '64', '--height', '64', '--guidance', '4.5', '--ep', 'cpu'];

beforeAll(async () => {
  const root = tempDir('sd35-gen-');
  model = path.join(root, 'tiny-sd35');
  await writeTinyModel(model, { layout: 'optimum', io: 'fp16', size: 'micro' });
  olive = path.join(root, 'olive-sd35');
  await writeTinyModel(olive, { layout: 'tensorstack', io: 'fp32', size: 'micro', flavor: 'olive' });
  dataDir = path.join(root, 'data');
});

afterAll(removeTempDirs);

describe('sd35-studio generate', () => {
  let first: { path: string; seed: number }[] = [];

  it('prints one JSON line per image and stores PNGs with their metadata in the history', () => {
    const r = run(['generate', '--model', model, '--prompt', 'a lighthouse at dusk', '--negative', 'blurry', '--seed', '7', '--count', '2', ...BASE, '--json', '--data-dir', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines).toHaveLength(2);
    for (const [k, line] of lines.entries()) {
      expect(Object.keys(line).sort()).toEqual(['durationMs', 'ep', 'guidance', 'height', 'id', 'path', 'seed', 'steps', 'width']);
      expect(line).toMatchObject({ seed: String(7 + k), width: 64, height: 64, steps: 4, guidance: 4.5, ep: 'cpu' });
      expect(typeof line.id).toBe('number');
      expect(line.durationMs).toBeGreaterThan(0);
      expect(path.isAbsolute(line.path as string)).toBe(true);
      expect((line.path as string).startsWith(dataDir)).toBe(true);
      const info = readPngInfo(fs.readFileSync(line.path as string));
      expect(info).toMatchObject({ width: 64, height: 64 });
      expect(info.chunks.map((c) => c.keyword)).toEqual(expect.arrayContaining([PARAMETERS_KEYWORD, STUDIO_KEYWORD]));
      const parsed = parseTextChunks(info.chunks);
      expect(parsed?.source).toBe('sd35studio');
      expect(parsed?.studio).toEqual({
        prompt: 'a lighthouse at dusk',
        negativePrompt: 'blurry',
        seed: String(7 + k),
        steps: 4,
        guidance: 4.5,
        width: 64,
        height: 64,
        shift: 3,
        scheduler: 'normal',
        sampler: 'euler',
        model: { id: 'tiny-sd35' },
        ep: 'cpu',
        precision: 'fp16',
        rng: 'torch-cpu-mt19937',
        clipHidden: 'penultimate',
        t5: true,
        appVersion: APP_VERSION,
      });
      const parameters = info.chunks.find((c) => c.keyword === PARAMETERS_KEYWORD)!.text;
      expect(parameters).toContain('a lighthouse at dusk');
      expect(parameters).toContain(`Seed: ${7 + k}`);
    }
    first = lines.map((l) => ({ path: l.path as string, seed: Number(l.seed) }));
    // Progress and warnings on stderr, not stdout.
    expect(r.stderr).toContain('step 4/4 · image 2/2');
    expect(r.stderr).toMatch(/fp16 export running on the CPU/);
    // The history has them.
    const list = run(['history', 'list', '--json', '--data-dir', dataDir]);
    expect(list.code).toBe(0);
    const items = jsonLines(list.stdout);
    expect(items.map((i) => i.seed).sort()).toEqual(['7', '8']);
    expect(items.every((i) => i.model === 'tiny-sd35' && i.prompt === 'a lighthouse at dusk')).toBe(true);
  });

  it('an olive export runs on the CPU through the portability pass, and the image metadata records the rewritten ops', () => {
    const r = run(['generate', '--model', olive, '--prompt', 'a lighthouse at dusk', '--seed', '3', ...BASE, '--json', '--data-dir', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    const [line] = jsonLines(r.stdout);
    const parsed = parseTextChunks(readPngInfo(fs.readFileSync(line!.path as string)).chunks);
    expect(parsed?.studio?.rewrittenOps).toEqual(['com.microsoft.BiasAdd', 'com.microsoft.BiasSplitGelu', 'com.microsoft.GroupNorm', 'com.microsoft.NhwcConv']);
    expect(parsed?.extra?.rewrittenOps).toBe('com.microsoft.BiasAdd com.microsoft.BiasSplitGelu com.microsoft.GroupNorm com.microsoft.NhwcConv');
    // The portable graphs went to the data folder's graphs/ (one model, two components), none into the model folder.
    const models = fs.readdirSync(path.join(dataDir, 'graphs'));
    expect(models).toHaveLength(1);
    expect(fs.readdirSync(path.join(dataDir, 'graphs', models[0]!)).sort()).toEqual(['transformer', 'vae_decoder']);
    for (const c of ['unet', 'vae_decoder']) expect(fs.readdirSync(path.join(olive, c)).sort()).toEqual(['model.onnx', 'model.onnx.data']);
  });

  it('same seed → identical PNG bytes; different seeds → different images', () => {
    expect(first).toHaveLength(2);
    const r = run(['generate', '--model', model, '--prompt', 'a lighthouse at dusk', '--negative', 'blurry', '--seed', '7', ...BASE, '--data-dir', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    // Human output without --json.
    const m = /^Image (\d+): (.+\.png) \(seed 7, 64×64, 4 steps, guidance 4\.5, cpu, [\d.]+ s\)$/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const again = fs.readFileSync(m![2]!);
    expect(m![2]).not.toBe(first[0]!.path);
    expect(again.equals(fs.readFileSync(first[0]!.path))).toBe(true);
    expect(fs.readFileSync(first[1]!.path).equals(fs.readFileSync(first[0]!.path))).toBe(false);
  });

  it('--sampler, --scheduler and --shift reach the image: the exact ids in its JSON, A1111 names in parameters', () => {
    const r = run(['generate', '--model', model, '--prompt', 'a fox', '--seed', '3', ...BASE, '--sampler', 'dpmpp_2m', '--scheduler', 'sgm_uniform', '--shift', '2.5', '--json', '--data-dir', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    const file = (jsonLines(r.stdout)[0] as { path: string }).path;
    const chunks = readPngInfo(fs.readFileSync(file)).chunks;
    const studio = JSON.parse(chunks.find((c) => c.keyword === 'sd35studio')!.text) as Record<string, unknown>;
    expect(studio).toMatchObject({ sampler: 'dpmpp_2m', scheduler: 'sgm_uniform', shift: 2.5 });
    expect(chunks.find((c) => c.keyword === 'parameters')!.text).toMatch(/Sampler: DPM\+\+ 2M, Schedule type: SGM Uniform, .*Shift: 2\.5/);
    const plain = run(['generate', '--model', model, '--prompt', 'a fox', '--seed', '3', ...BASE, '--json', '--data-dir', dataDir]);
    expect(fs.readFileSync((jsonLines(plain.stdout)[0] as { path: string }).path).equals(fs.readFileSync(file))).toBe(false);
  });

  it('Skip-Layer Guidance on a Medium-shaped model: runs and is recorded; layers past its blocks exit 2 naming the count; a model without named blocks says why', async () => {
    const medium = path.join(path.dirname(model), 'tiny-medium');
    await writeTinyModel(medium, { layout: 'optimum', io: 'fp16', size: 'micro', mmdit: 'medium' });
    const slg = ['--slg-layers', '1,2', '--slg-scale', '2.8', '--slg-start', '0.2', '--slg-end', '0.8'];
    const r = run(['generate', '--model', medium, '--prompt', 'a fox', '--seed', '3', ...BASE, ...slg, '--json', '--data-dir', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    const file = (jsonLines(r.stdout)[0] as { path: string }).path;
    const chunks = readPngInfo(fs.readFileSync(file)).chunks;
    expect(JSON.parse(chunks.find((c) => c.keyword === 'sd35studio')!.text)).toMatchObject({ slg: { layers: [1, 2], scale: 2.8, start: 0.2, end: 0.8 } });
    const without = run(['generate', '--model', medium, '--prompt', 'a fox', '--seed', '3', ...BASE, '--json', '--data-dir', dataDir]);
    expect(without.code, without.stderr).toBe(0);
    expect(fs.readFileSync((jsonLines(without.stdout)[0] as { path: string }).path).equals(fs.readFileSync(file))).toBe(false);

    const outside = run(['generate', '--model', medium, '--prompt', 'a fox', ...BASE, '--slg-layers', '7,8,9', '--json', '--data-dir', dataDir]);
    expect(outside.code).toBe(2);
    expect((jsonLines(outside.stdout).at(-1) as { error: { code: string; message: string } }).error).toEqual({
      code: 'invalid_input',
      message: "SLG layers 7, 8, 9 are outside this model's 4 joint blocks (0–3).",
    });
    const plain = run(['generate', '--model', model, '--prompt', 'a fox', ...BASE, '--slg-layers', '1', '--json', '--data-dir', dataDir]);
    expect(plain.code).not.toBe(0);
    expect((jsonLines(plain.stdout).at(-1) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/^Skip-Layer Guidance is not available for this model: its transformer graph has no nodes named/),
    });
  });

  it('refuses invalid parameters with exit 2 and a clear message, before any work', () => {
    const cases: [string[], RegExp][] = [
      [['--width', '65'], /width must be a multiple of 16/],
      [['--steps', '0'], /--steps: Steps must be a whole number from 1 to 150 \(got 0\)/],
      [['--guidance', 'lots'], /--guidance must be a number/],
      [['--guidance', '31'], /Guidance must be a number from 0 to 30/],
      [['--ep', 'tpu'], /--ep must be one of auto, cpu, cuda, dml, coreml, webgpu/],
      [['--memory', 'huge'], /--memory must be one of fast, balanced, low/],
      [['--seed', '-1'], /--seed/],
      [['--count', '0'], /--count: Images must be a whole number from 1 to 64/],
      [['--count', '65'], /--count: Images must be a whole number from 1 to 64/],
      [['--seed', '18446744073709551616'], /--seed: The seed must be a whole number from 0 to 18446744073709551615/],
      [['--seed', '18446744073709551615', '--count', '2'], /goes past the largest seed, 18446744073709551615/],
      [['--sampler', 'dpmpp_3m'], /Unknown sampler "dpmpp_3m"; use one of: euler, euler_ancestral, heun, dpmpp_2m/],
      [['--scheduler', 'karras'], /Unknown schedule "karras"; use one of: normal, simple, sgm_uniform, beta/],
      [['--shift', '0'], /shift must be a number from 0.01 to 100/],
      [['--slg-layers', '7,x'], /SLG layers must be block numbers/],
      [['--slg-start', '0.5', '--slg-end', '0.2'], /--slg-.*start must be below its end/],
    ];
    for (const [extra, message] of cases) {
      const r = run(['generate', '--model', model, '--prompt', 'x', '--json', '--data-dir', dataDir, ...extra]);
      expect(r.code, extra.join(' ')).toBe(2);
      const last = jsonLines(r.stdout).at(-1) as { error: { code: string; message: string } };
      expect(last.error.code).toBe('invalid_input');
      expect(last.error.message).toMatch(message);
    }
    const noPrompt = run(['generate', '--model', model, '--data-dir', dataDir]);
    expect(noPrompt.code).toBe(2);
    expect(noPrompt.stderr).toMatch(/--prompt/);
    // A blank prompt: refused as the form refuses it (it used to make an image).
    const blank = run(['generate', '--model', model, '--prompt', '   ', '--json', '--data-dir', dataDir]);
    expect(blank.code).toBe(2);
    expect((jsonLines(blank.stdout).at(-1) as { error: { message: string } }).error.message).toBe('--prompt: Type a prompt.');
  });

  it('names the download command for a model that is not installed (exit 7), and a broken folder through the worker', () => {
    const r = run(['generate', '--model', 'sd3.5-medium', '--prompt', 'x', '--json', '--data-dir', dataDir]);
    expect(r.code).toBe(7);
    const last = jsonLines(r.stdout).at(-1) as { error: { code: string; message: string } };
    expect(last.error).toEqual({ code: 'not_found', message: expect.stringContaining('sd35-studio models download sd3.5-medium') });

    const broken = path.join(path.dirname(model), 'broken');
    fs.cpSync(model, broken, { recursive: true });
    fs.rmSync(path.join(broken, 'text_encoder_2', 'model.onnx'));
    const b = run(['generate', '--model', broken, '--prompt', 'x', ...BASE, '--json', '--data-dir', dataDir]);
    expect(b.code).toBe(7);
    const err = (jsonLines(b.stdout).at(-1) as { error: { message: string } }).error;
    expect(err.message).toContain('text_encoder_2/model.onnx');
  });

  it('`--model tiny-sd35` for an imported folder: exit 7 suggesting folder:tiny-sd35 and listing the installed ids', () => {
    const data = path.join(path.dirname(model), 'suggest');
    const imported = run(['models', 'import', model, '--json', '--data-dir', data], { HF_ENDPOINT: 'http://127.0.0.1:9' });
    expect(imported.code, imported.stderr).toBe(0);
    const r = run(['generate', '--model', 'tiny-sd35', '--prompt', 'x', ...BASE, '--json', '--data-dir', data], { HF_ENDPOINT: 'http://127.0.0.1:9' });
    expect(r.code).toBe(7);
    const err = (jsonLines(r.stdout).at(-1) as { error: { code: string; message: string } }).error;
    expect(err.code).toBe('not_found');
    expect(err.message).toContain('Did you mean folder:tiny-sd35?');
    expect(err.message).toMatch(/Installed: folder:tiny-sd35\.$/);
  });

  it('while `serve` holds the folder, generate goes through its queue and waits; a 64-bit seed round-trips through --json, history list --json and the API', async () => {
    const BIG = '6952411511246973023';
    const data = path.join(path.dirname(model), 'served');
    const s = await startServe(data, { ...ENV, HF_ENDPOINT: 'http://127.0.0.1:9' });
    try {
      const r = run(['generate', '--model', model, '--prompt', 'through the queue', '--seed', BIG, '--count', '2', ...BASE, '--json', '--data-dir', data]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/job \d+ was added to its queue/);
      const lines = jsonLines(r.stdout);
      expect(lines.map((l) => l.seed)).toEqual([BIG, '6952411511246973024']);
      expect(lines[0]).toMatchObject({ width: 64, height: 64, steps: 4, guidance: 4.5, ep: 'cpu' });
      expect(fs.existsSync(lines[0]!.path as string)).toBe(true);

      const jobs = await callApi(s, 'jobs.list', { limit: 5 });
      expect(jobs.status).toBe(200);
      const job = (jobs.body.result as { items: { owner: string; status: string; generations: { seed: string; status: string; imageId?: number }[] }[] }).items[0]!;
      expect(job).toMatchObject({ owner: 'queue', status: 'done' });
      expect(job.generations.map((g) => g.seed)).toEqual([BIG, '6952411511246973024']);
      const detail = await callApi(s, 'gallery.get', { id: job.generations[0]!.imageId });
      expect((detail.body.result as { seed: string }).seed).toBe(BIG);

      const list = jsonLines(run(['history', 'list', '--json', '--data-dir', data]).stdout);
      expect(list.map((i) => i.seed).sort()).toEqual([BIG, '6952411511246973024']);
      const reused = await callApi(s, 'gallery.reuse', { id: job.generations[0]!.imageId });
      expect((reused.body.result as { seed: string }).seed).toBe(BIG);
    } finally {
      await stop(s.child);
    }
  }, 120_000);

  it('Ctrl+C while the worker is held after step 1 cancels: exit 8, no image, the worker gone', async () => {
    const child = spawn(process.execPath, [CLI, 'generate', '--model', model, '--prompt', 'held', '--seed', '1', ...BASE, '--json', '--data-dir', dataDir], {
      env: { ...process.env, ...ENV, SD35_TEST_MODE: '1', SD35_TEST_HOLD: 'after-step:1', SD35_DEBUG: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d) => {
        stderr += String(d);
        if (stderr.includes('SD35_HOLD after-step:1')) resolve();
      });
      child.on('exit', () => reject(new Error(`exited before the hold: ${stderr}`)));
    });
    child.kill('SIGINT');
    expect(await exited).toBe(8);
    expect(jsonLines(stdout)).toEqual([{ error: { code: 'cancelled', message: expect.any(String) } }]);
    expect(stderr).toContain('step 1/4');
    expect(stderr).not.toContain('step 2/4');
    const pid = Number(/Started the inference worker \(pid (\d+)\)/.exec(stderr)?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(() => process.kill(pid, 0)).toThrow();
    const list = jsonLines(run(['history', 'list', '--json', '--data-dir', dataDir]).stdout);
    expect(list.some((i) => i.prompt === 'held')).toBe(false);
  });
});
