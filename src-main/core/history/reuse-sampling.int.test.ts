// "Reuse parameters" on images made elsewhere fills the sampling parameters (issue: sampler, schedule, shift,
// steps, CFG and seed of a ComfyUI SD3.5 image; the nearest sampler or schedule, with a note, for ones the
// studio lacks) — over a real SQLite store and real PNG files.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../../testing/temp';
import type { Db } from '../db';
import { encodePng } from '../../formats/png';
import { makeMeta, makePixels, openTestDb, tempDataDir } from '../../testing/history/fixtures';
import { HistoryService } from './service';

/** ComfyUI's SD3.5 example workflow as its API graph (the `prompt` chunk ComfyUI writes). */
function comfySd35Graph(sampler: string, scheduler: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sd3.5_large.safetensors' } },
    '13': { class_type: 'ModelSamplingSD3', inputs: { shift: 3, model: ['4', 0] } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a fox in the snow', clip: ['4', 1] } },
    '71': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
    '135': { class_type: 'EmptySD3LatentImage', inputs: { width: 1024, height: 768, batch_size: 1 } },
    '3': {
      class_type: 'KSampler',
      inputs: {
        seed: 714563283451201,
        steps: 28,
        cfg: 4.5,
        sampler_name: sampler,
        scheduler,
        denoise: 1,
        model: ['13', 0],
        positive: ['6', 0],
        negative: ['71', 0],
        latent_image: ['135', 0],
      },
    },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    ...extra,
  });
}

const open: Db[] = [];
afterEach(() => {
  while (open.length) open.pop()!.close();
});
afterAll(removeTempDirs);

function setup(): HistoryService {
  const dir = tempDataDir('sd35-reuse-sampling-');
  const db = openTestDb(dir);
  open.push(db);
  return new HistoryService({ db, dataDir: dir });
}

describe('reuse: sampling parameters from other tools', () => {
  it('a ComfyUI SD3.5 image (euler / sgm_uniform) fills sampler, schedule, shift, steps, CFG and seed', async () => {
    const service = setup();
    const png = encodePng(makePixels(16, 16), [{ keyword: 'prompt', text: comfySd35Graph('euler', 'sgm_uniform') }]);
    const rec = await service.importFile(png, 'ComfyUI_00001_.png');
    expect(service.reuse(rec.id)).toMatchObject({
      prompt: 'a fox in the snow',
      negativePrompt: 'blurry',
      seed: '714563283451201',
      steps: 28,
      guidance: 4.5,
      width: 1024,
      height: 768,
      sampler: 'euler',
      scheduler: 'sgm_uniform',
      shift: 3,
    });
    expect(service.reuse(rec.id).samplingNotes).toBeUndefined();
  });

  it('dpmpp_2m / beta with a shift override and ComfyUI\'s SLG node', async () => {
    const service = setup();
    const graph = JSON.parse(comfySd35Graph('dpmpp_2m', 'beta')) as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
    graph['13']!.inputs.shift = 2.5;
    graph['20'] = { class_type: 'SkipLayerGuidanceSD3', inputs: { model: ['13', 0], layers: '7, 8, 9', scale: 3, start_percent: 0.01, end_percent: 0.15 } };
    graph['3']!.inputs.model = ['20', 0];
    const rec = await service.importFile(encodePng(makePixels(16, 16), [{ keyword: 'prompt', text: JSON.stringify(graph) }]), 'x.png');
    expect(service.reuse(rec.id)).toMatchObject({ sampler: 'dpmpp_2m', scheduler: 'beta', shift: 2.5, slg: { layers: [7, 8, 9], scale: 3, start: 0.01, end: 0.15 } });
  });

  it('a sampler or schedule the studio lacks: the nearest, and a note that says which', async () => {
    const service = setup();
    const rec = await service.importFile(encodePng(makePixels(16, 16), [{ keyword: 'prompt', text: comfySd35Graph('dpmpp_2m_sde', 'karras') }]), 'y.png');
    const r = service.reuse(rec.id);
    expect(r).toMatchObject({ sampler: 'euler_ancestral', scheduler: 'beta' });
    expect(r.samplingNotes).toEqual([
      expect.stringContaining('"dpmpp_2m_sde"'),
      expect.stringContaining('"karras"'),
    ]);
  });

  it("A1111/Forge names: 'DPM++ 2M' + 'SGM Uniform' + Shift, and an old combined 'DPM++ 2M Karras'", async () => {
    const service = setup();
    const text = 'a cat\nSteps: 40, Sampler: DPM++ 2M, Schedule type: SGM Uniform, CFG scale: 4.5, Seed: 5, Size: 1024x1024, Shift: 3';
    const a = await service.importFile(encodePng(makePixels(16, 16), [{ keyword: 'parameters', text }]), 'a.png');
    expect(service.reuse(a.id)).toMatchObject({ sampler: 'dpmpp_2m', scheduler: 'sgm_uniform', shift: 3, steps: 40 });
    const old = 'a dog\nSteps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1, Size: 512x512';
    const b = await service.importFile(encodePng(makePixels(16, 16), [{ keyword: 'parameters', text: old }]), 'b.png');
    expect(service.reuse(b.id)).toMatchObject({ sampler: 'dpmpp_2m', scheduler: 'beta', samplingNotes: [expect.stringContaining('"Karras"')] });
  });

  it('our own images: the ids from the lossless JSON; images from before samplers existed are euler / normal', async () => {
    const service = setup();
    const made = await service.saveImage({
      pixels: makePixels(16, 16),
      meta: makeMeta({ sampler: 'heun', scheduler: 'simple', shift: 4, guidance: 5, slg: { layers: [7], scale: 2.8, start: 0.01, end: 0.2 } }),
    });
    expect(service.reuse(made.id)).toMatchObject({ sampler: 'heun', scheduler: 'simple', shift: 4, slg: { layers: [7] } });
    const older = await service.saveImage({ pixels: makePixels(16, 16), meta: makeMeta({ scheduler: 'flow-match-euler' }) });
    expect(service.reuse(older.id)).toMatchObject({ sampler: 'euler', scheduler: 'normal' });
  });
});
