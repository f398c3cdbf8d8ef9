// `sd35-studio inspect tokens|sigmas|noise|model` (node out/main/cli.js): the reference values diffusers gives.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, missingFixturesReason } from '../../../e2e/support/fixtures';
import { writeTinyModel } from '../../../e2e/support/tiny-model';
import { CLI } from '../../testing/processes';
import { removeTempDirs, tempDir } from '../../testing/temp';

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json(args: string[]): Record<string, unknown> {
  const r = run([...args, '--json']);
  expect(r.code, r.stderr + r.stdout).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

let tinyModel: string;
let oliveModel: string;
let dataDir: string;

beforeAll(async () => {
  const root = tempDir('sd35-inspect-');
  tinyModel = path.join(root, 'tiny');
  dataDir = path.join(root, 'data');
  await writeTinyModel(tinyModel, { layout: 'tensorstack', io: 'fp16', size: 'micro' });
  oliveModel = path.join(root, 'olive');
  await writeTinyModel(oliveModel, { layout: 'tensorstack', io: 'fp16', size: 'micro', flavor: 'olive' });
});

afterAll(removeTempDirs);

describe('sd35-studio inspect', () => {
  const tokenizers = fixturePath('tokenizers') ?? '';
  const haveTokenizers = tokenizers !== '' && fs.existsSync(path.join(tokenizers, 'tokenizer_3', 'tokenizer.json'));
  if (!haveTokenizers) console.warn(missingFixturesReason('tokenizers/'));

  it.runIf(haveTokenizers)('tokens: the reference ids for "a photo of a cat", padded as fed to the encoders', () => {
    const out = json(['inspect', 'tokens', '--model', tokenizers, '--prompt', 'a photo of a cat']) as { clipL: number[]; clipG: number[]; t5: number[] };
    expect(Object.keys(out).sort()).toEqual(['clipG', 'clipL', 't5']);
    const clip = [49406, 320, 1125, 539, 320, 2368, 49407];
    expect(out.clipL).toHaveLength(77);
    expect(out.clipL.slice(0, 7)).toEqual(clip);
    expect(out.clipL.slice(7).every((id) => id === 49407)).toBe(true);
    expect(out.clipG).toHaveLength(77);
    expect(out.clipG.slice(0, 7)).toEqual(clip);
    expect(out.clipG.slice(7).every((id) => id === 0)).toBe(true);
    expect(out.t5).toHaveLength(256);
    expect(out.t5.slice(0, 8)).toEqual([3, 9, 1202, 13, 3, 9, 1712, 1]);
    expect(out.t5.slice(8).every((id) => id === 0)).toBe(true);
    // Every case of the reference file.
    const reference = JSON.parse(fs.readFileSync(path.join(tokenizers, 'reference-ids.json'), 'utf8')) as {
      cases: { prompt: string; clipIds: number[]; t5Ids: number[] }[];
    };
    const short = reference.cases.filter((c) => c.clipIds.length <= 77 && c.t5Ids.length <= 256).slice(0, 3);
    for (const c of short) {
      const o = json(['inspect', 'tokens', '--model', tokenizers, '--prompt', c.prompt]) as { clipL: number[]; t5: number[] };
      expect(o.clipL.slice(0, c.clipIds.length), c.prompt).toEqual(c.clipIds);
      expect(o.t5.slice(0, c.t5Ids.length), c.prompt).toEqual(c.t5Ids);
    }
  });

  it('tokens: a model folder works too; a missing folder is not_found (exit 7)', () => {
    const out = json(['inspect', 'tokens', '--model', tinyModel, '--prompt', 'a photo of a cat']) as { clipL: number[] };
    expect(out.clipL).toHaveLength(77);
    const r = run(['inspect', 'tokens', '--model', path.join(tinyModel, 'nope'), '--prompt', 'x', '--json', '--data-dir', dataDir]);
    expect(r.code).toBe(7);
    expect(run(['inspect', 'tokens', '--prompt', 'x']).code).toBe(2);
  });

  it('sigmas: shift 3, 4 steps = 1.0, 0.857692, 0.602151, 0.008929, 0; timesteps σ·1000', () => {
    const out = json(['inspect', 'sigmas', '--steps', '4', '--shift', '3']) as { sigmas: number[]; timesteps: number[] };
    const expected = [1.0, 0.857692, 0.602151, 0.008929, 0];
    expect(out.sigmas).toHaveLength(5);
    out.sigmas.forEach((s, i) => expect(Math.abs(s - expected[i]!)).toBeLessThan(1e-5));
    expect(out.timesteps).toHaveLength(4);
    [1000, 857.692, 602.151, 8.929].forEach((t, i) => expect(Math.abs(out.timesteps[i]! - t)).toBeLessThan(1e-2));
    // Default shift is 3.
    expect(json(['inspect', 'sigmas', '--steps', '4'])).toEqual(out);
    const shift1 = json(['inspect', 'sigmas', '--steps', '10', '--shift', '1']) as { sigmas: number[] };
    expect(shift1.sigmas).toHaveLength(11);
    expect(run(['inspect', 'sigmas', '--steps', '0']).code).toBe(2);
    expect(run(['inspect', 'sigmas', '--steps', '4', '--shift', '-1']).code).toBe(2);
  });

  it('sigmas --scheduler: ComfyUI schedules (N+1 sigmas ending 0, N timesteps); an unknown one lists the valid ones', () => {
    // sgm_uniform, 2 steps, shift 3: t = 1000, (1000 + 1000·σ_min)/2 with σ_min = 3·0.001/(1 + 2·0.001)
    const out = json(['inspect', 'sigmas', '--steps', '2', '--scheduler', 'sgm_uniform']) as { sigmas: number[]; timesteps: number[] };
    const tMid = (1 + (3 * 0.001) / 1.002) / 2;
    const expected = [1, (3 * tMid) / (1 + 2 * tMid), 0];
    out.sigmas.forEach((s, i) => expect(Math.abs(s - expected[i]!)).toBeLessThan(1e-6));
    expect(out.timesteps).toHaveLength(2);
    // beta, 2 steps: table entries 999 and 500 (0.5·999 = 499.5 rounds half to even) = σ(0.501)
    const beta = json(['inspect', 'sigmas', '--steps', '2', '--scheduler', 'beta']) as { sigmas: number[] };
    expect(Math.abs(beta.sigmas[1]! - (3 * 0.501) / (1 + 2 * 0.501))).toBeLessThan(1e-6);
    const bad = run(['inspect', 'sigmas', '--steps', '4', '--scheduler', 'karras', '--json']);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toMatch(/normal, simple, sgm_uniform, beta/);
  });

  it('noise: seed 0, shape 1,16,8,8 matches torch.randn', () => {
    const out = json(['inspect', 'noise', '--seed', '0', '--shape', '1,16,8,8']) as { values: number[] };
    expect(out.values).toHaveLength(1024);
    const head = [-1.1258398, -1.1523602, -0.2505786, -0.4338788];
    head.forEach((v, i) => expect(Math.abs(out.values[i]! - v)).toBeLessThan(1e-6));
    expect(Math.abs(out.values[1023]! - -1.7104684)).toBeLessThan(1e-6);
    const wrap = json(['inspect', 'noise', '--seed', String(2 ** 32 + 5), '--shape', '1,16,2,2']);
    expect(wrap).toEqual(json(['inspect', 'noise', '--seed', '5', '--shape', '1,16,2,2']));
    expect(run(['inspect', 'noise', '--seed', '0', '--shape', '1,16,x,8']).code).toBe(2);
    expect(run(['inspect', 'noise', '--seed', 'abc', '--shape', '1,16,8,8']).code).toBe(2);
  });

  it('model: every session with its inputs/outputs, types and resolved roles', () => {
    const out = json(['inspect', 'model', tinyModel]) as {
      layout: string;
      hasT5: boolean;
      clipHidden: string;
      components: { component: string; file: string; inputs: { name: string; type: string }[]; outputs: unknown[]; roles?: Record<string, string> }[];
    };
    expect(out).toMatchObject({ layout: 'tensorstack', hasT5: true, clipHidden: 'last' });
    expect(out.components.map((c) => c.component)).toEqual(['text_encoder', 'text_encoder_2', 'text_encoder_3', 'transformer', 'vae_decoder']);
    const transformer = out.components.find((c) => c.component === 'transformer')!;
    expect(transformer.file).toBe('unet/model.onnx');
    expect(transformer.inputs.map((i) => i.name)).toEqual(expect.arrayContaining(['hidden_states', 'timestep', 'encoder_hidden_states', 'pooled_projections']));
    expect(transformer.roles).toMatchObject({ sample: 'hidden_states (float16)', pooled: 'pooled_projections (float16)' });
    const human = run(['inspect', 'model', tinyModel]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('role sample = hidden_states (float16)');
    expect(run(['inspect', 'model']).code).toBe(2);
  });

  it('model: records which ops the portability pass rewrites on this machine (olive flavor)', () => {
    const out = json(['inspect', 'model', oliveModel]) as { portability: { provider: string; components: { file: string; rewritten: string[]; blocked: string[]; ops: string[] }[] } };
    expect(out.portability.provider).toBe('cpu');
    const byFile = new Map(out.portability.components.map((c) => [c.file, c]));
    expect(byFile.get('unet/model.onnx')?.rewritten).toEqual(['com.microsoft.BiasAdd', 'com.microsoft.BiasSplitGelu', 'com.microsoft.NhwcConv']);
    expect(byFile.get('vae_decoder/model.onnx')?.rewritten).toEqual(['com.microsoft.GroupNorm']);
    expect(byFile.get('text_encoder/model.onnx')?.rewritten).toEqual([]);
    expect(byFile.get('unet/model.onnx')?.ops).toContain('com.microsoft.NhwcConv(1)');
    const human = run(['inspect', 'model', oliveModel]);
    expect(human.stdout).toContain('unet/model.onnx: ');
    expect(human.stdout).toContain('rewritten: com.microsoft.BiasAdd, com.microsoft.BiasSplitGelu, com.microsoft.NhwcConv');
    expect(run(['inspect', 'model', tinyModel]).stdout).toMatch(/vae_decoder\/model\.onnx: \d+ ops, all have kernels/);
  });
});
