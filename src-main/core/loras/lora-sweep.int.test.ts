// LoRAs through the contract and the real queue + worker (out/main/worker.js, the tiny diffusers-named MMDiT):
// loras.import, a strength sweep 0 / 0.5 / 1 and an on/off sweep that create no ORT session after the first
// generation (strength is a graph input: the worker's own count, read from its log), `<lora:name:S>` typed in the
// prompt equal to the same LoRA in the list (and gone from the text the encoders see), and Compare's labels.
// Needs `npm run -s build`.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../../e2e/support/tiny-model';
import { TINY_MMDIT } from '../../../e2e/support/tiny-mmdit';
import { cellLabel, compareLayout } from '../../../src-shared/compare-layout';
import type { JobParams } from '../../../src-shared/generation';
import { REPO } from '../../testing/processes';
import { writeTestLora } from '../../testing/lora/lora-files';
import { waitUntil } from '../../testing/poll';
import { removeTempDirs, tempDir } from '../../testing/temp';
import { encodePng } from '../../formats/png';
import { nodeAdapters } from '../node-adapters';
import { StudioCore } from '../studio';

const WORKER = path.join(REPO, 'out', 'main', 'worker.js');
const D = TINY_MMDIT.hidden;
let model: string;
let loraFile: string;
let core: StudioCore;
const logs: string[] = [];

beforeAll(async () => {
  model = path.join(tempDir('sd35-lora-sweep-model-'), 'tiny-sd35');
  await writeTinyModel(model, { layout: 'tensorstack', io: 'fp16', size: 'micro', mmdit: 'large', generatedTokenizers: true });
  loraFile = path.join(tempDir(), 'ink wash.safetensors');
  writeTestLora(loraFile, 'diffusers', [
    { module: 'transformer_blocks.1.attn.to_q', rank: 4, in: D, out: D, alpha: 4, seed: 1 },
    { module: 'transformer_blocks.2.attn.to_out.0', rank: 4, in: D, out: D, alpha: 4, seed: 2 },
  ]);
  const env = { ...process.env, SD35_ORT_THREADS: '1', HF_ENDPOINT: 'http://127.0.0.1:9' };
  core = await StudioCore.open({
    dataDir: tempDir(),
    adapters: nodeAdapters(env),
    env,
    runtime: 'electron',
    appVersion: '0.0.0-test',
    workerEntry: WORKER,
    hostLog: (_level, message) => void logs.push(message),
  });
  // The model stays loaded between the jobs (the count is about strengths, not idle unloads).
  await core.api['settings.set']({ executionProvider: 'cpu', memoryMode: 'fast', idleUnloadMinutes: 60 });
}, 120_000);
afterAll(() => {
  core?.close();
  removeTempDirs();
});

function params(over: Partial<JobParams> = {}): JobParams {
  return { prompt: 'a red cat', negativePrompt: '', model, steps: 2, guidance: 4, width: 64, height: 64, t5: true, ...over };
}

async function run(p: JobParams, axis?: Parameters<StudioCore['api']['jobs.submit']>[0]['sweep']['axis']): Promise<number[]> {
  const { jobId, generationIds } = await core.api['jobs.submit']({ params: p, sweep: { seeds: { mode: 'list', seeds: ['7'] }, ...(axis ? { axis } : {}) } });
  await waitUntil(() => !['queued', 'running'].includes(core.jobs.store.require(jobId).status), `job ${jobId}`, 2400, 50);
  expect(core.jobs.store.require(jobId).status).toBe('done');
  return generationIds;
}

/** The worker's own count of sessions each request created, in order (its debug log). */
function sessionCounts(): number[] {
  return logs.flatMap((l) => {
    const m = /request \S+: (\d+) ORT sessions created/u.exec(l);
    return m ? [Number(m[1])] : [];
  });
}

const pixels = (id: number): Buffer => fs.readFileSync(core.history.imagePath(id)!);
const rgb = (id: number): Promise<Buffer> => sharp(core.history.imagePath(id)!).raw().toBuffer();

describe('LoRAs through the queue', { timeout: 300_000 }, () => {
  it('imports a LoRA, sweeps its strength and switches it off without creating a session, and labels the cells', async () => {
    const imported = await core.api['loras.import']({ files: [{ path: loraFile }] });
    expect(imported.rejected).toEqual([]);
    const lora = imported.imported[0]!;
    expect(lora).toMatchObject({ name: 'ink wash', rank: 4 });
    expect((await core.api['loras.list']({})).loras.map((l) => l.name)).toEqual(['ink wash']);
    const withLora = params({ loras: [{ name: lora.name, sha256: lora.sha256, strength: 1 }] });

    const plain = await run(params());
    const sweep = await run(withLora, { kind: 'loraStrength', lora: 'ink wash', values: [0, 0.5, 1] });
    const onOff = await run({ ...withLora, loras: [{ name: lora.name, sha256: lora.sha256, strength: 0.5 }] }, { kind: 'loraOn', lora: 'ink wash', values: ['on', 'off'] });
    const tagged = await run(params({ prompt: 'a red cat <lora:ink wash:0.5>' }));

    // Sessions: the plain model, then the LoRA'd graphs once; every later strength or on/off: none.
    const counts = sessionCounts();
    expect(counts).toHaveLength(1 + 3 + 2 + 1);
    expect(counts[0]).toBeGreaterThan(0);
    expect(counts[1]).toBeGreaterThan(0);
    expect(counts.slice(2)).toEqual([0, 0, 0, 0, 0]);

    // Strength 0 is the image without the LoRA (pixels; the file's metadata records the LoRA); 0.5 and 1 differ.
    expect(pixels(sweep[0]!).equals(pixels(plain[0]!))).toBe(false);
    expect((await rgb(sweep[0]!)).equals(await rgb(plain[0]!))).toBe(true);
    expect((await rgb(sweep[1]!)).equals(await rgb(sweep[0]!))).toBe(false);
    expect((await rgb(sweep[2]!)).equals(await rgb(sweep[1]!))).toBe(false);
    // Off = the plain image; on at 0.5 = the sweep's 0.5; the typed tag = the same LoRA at 0.5.
    expect((await rgb(onOff[1]!)).equals(await rgb(plain[0]!))).toBe(true);
    expect((await rgb(onOff[0]!)).equals(await rgb(sweep[1]!))).toBe(true);
    expect((await rgb(tagged[0]!)).equals(await rgb(sweep[1]!))).toBe(true);

    // The tag left the prompt (the encoders never saw it) and became the job's LoRA; the A1111 text writes it back.
    const taggedDetail = await core.api['gallery.get']({ id: tagged[0]! });
    expect(taggedDetail.prompt).toBe('a red cat');
    expect(taggedDetail.meta?.loras).toMatchObject([{ name: 'ink wash', strength: 0.5, sha256: lora.sha256 }]);
    expect((await core.api['gallery.get']({ id: onOff[1]! })).meta?.loras).toBeUndefined();

    // Compare: the strength sweep is labelled by strength, the on/off sweep says "off".
    const items = await Promise.all(sweep.map((id) => core.api['gallery.get']({ id })));
    const layout = compareLayout(items);
    expect(layout.differing).toEqual(['loras']);
    expect(items.map((i) => cellLabel(i, layout))).toEqual(['Seed 7 · LoRA ink wash 0', 'Seed 7 · LoRA ink wash 0.5', 'Seed 7 · LoRA ink wash 1']);
    const onOffItems = await Promise.all(onOff.map((id) => core.api['gallery.get']({ id })));
    expect(onOffItems.map((i) => cellLabel(i, compareLayout(onOffItems)))).toEqual(['Seed 7 · LoRA ink wash 0.5', 'Seed 7 · LoRA off']);
  });

  it('Reuse parameters of an A1111/Forge or ComfyUI PNG finds its LoRAs in the library by hash (by name for ComfyUI) and names the missing ones', async () => {
    const lora = (await core.api['loras.list']({})).loras.find((l) => l.name === 'ink wash')!;
    const a1111 = `a cat <lora:ink wash:0.6>, <lora:gone:1>\nSteps: 2, Sampler: Euler, CFG scale: 4, Seed: 5, Size: 64x64, Lora hashes: "ink wash: ${lora.a1111Hash.toUpperCase()}, gone: 0123456789ab"`;
    const comfy = JSON.stringify({
      '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sd3.5_medium.safetensors' } },
      '2': { class_type: 'LoraLoaderModelOnly', inputs: { model: ['1', 0], lora_name: 'sd35/Ink Wash.safetensors', strength_model: 0.75 } },
      '3': { class_type: 'CLIPTextEncode', inputs: { text: 'a dog', clip: ['1', 1] } },
      '4': { class_type: 'EmptySD3LatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
      '5': { class_type: 'KSampler', inputs: { model: ['2', 0], positive: ['3', 0], negative: ['3', 0], latent_image: ['4', 0], seed: 1, steps: 2, cfg: 4, sampler_name: 'euler', scheduler: 'normal', denoise: 1 } },
    });
    const png = (keyword: string, text: string) => encodePng({ width: 8, height: 8, channels: 3, data: new Uint8Array(8 * 8 * 3) }, [{ keyword, text }]).toString('base64');
    const r = await core.api['gallery.import']({ files: [{ name: 'forge.png', dataBase64: png('parameters', a1111) }, { name: 'comfy.png', dataBase64: png('prompt', comfy) }] });
    expect(r.rejected).toEqual([]);
    const forge = await core.api['gallery.reuse']({ id: r.imported[0]!.id });
    expect(forge.prompt).toBe('a cat ,');
    expect(forge.loras).toEqual([
      { name: 'ink wash', strength: 0.6, sha256: lora.sha256 },
      { name: 'gone', strength: 1, hash: '0123456789ab' },
    ]);
    expect((await core.api['gallery.reuse']({ id: r.imported[1]!.id })).loras).toEqual([{ name: 'ink wash', strength: 0.75, sha256: lora.sha256 }]);
  });

  it('refuses a tag naming a LoRA the library lacks, and an axis on a LoRA the job does not have', async () => {
    await expect(core.api['jobs.submit']({ params: params({ prompt: 'x <lora:nope:1>' }), sweep: { seeds: { mode: 'list', seeds: ['1'] } } })).rejects.toThrow(/no LoRA "nope" in the library/u);
    await expect(
      core.api['jobs.submit']({ params: params(), sweep: { seeds: { mode: 'list', seeds: ['1'] }, axis: { kind: 'loraStrength', lora: 'ink wash', values: [0, 1] } } }),
    ).rejects.toThrow(/not one of this job's LoRAs/u);
  });
});
