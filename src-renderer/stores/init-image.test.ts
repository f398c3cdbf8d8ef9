import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StudioError } from '../../src-shared/errors';
import { setStudio } from '../studio';
import { fakeClient, type FakeClient } from '../testing/fake-client';
import { setFormStorage, useGenerateStore } from './generate';
import { setInitStorage, stepsLabel, useInitImageStore } from './init-image';

function memory(): { getItem(k: string): string | null; setItem(k: string, v: string): void } {
  const m = new Map<string, string>();
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => void m.set(k, v) };
}

const SHA = 'a'.repeat(64);
const MASK = 'b'.repeat(64);
let client: FakeClient;
beforeEach(() => {
  setActivePinia(createPinia());
  setFormStorage(memory());
  setInitStorage(memory());
  client = fakeClient({
    'models.list': () => ({ models: [{ id: 'sd3.5-medium', source: 'catalog', displayName: 'M', catalogId: 'sd3.5-medium', state: 'installed', installed: { path: '/m', layout: 'optimum', t5: true }, sizeOnDisk: 1 }] }) as never,
    'jobs.submit': () => ({ jobId: 1, generationIds: [1] }),
  });
  setStudio(client);
});
afterEach(() => {
  setFormStorage(undefined);
  setInitStorage(undefined);
});

const png = (n = 16) => new Blob([new Uint8Array(n)], { type: 'image/png' });

describe('the steps the strength runs', () => {
  it('is diffusers get_timesteps: int() of N − N·s, in doubles', () => {
    // Hand-derived: 28·0.75 = 21 → t_start 7 → 21 run; 8·0.3 = 2.4000000000000004 → int(5.6) = 5 → 3 run.
    expect(stepsLabel(28, 0.75)).toBe('21 of 28 steps');
    expect(stepsLabel(8, 0.3)).toBe('3 of 8 steps');
    expect(stepsLabel(4, 1)).toBe('4 of 4 steps');
    // 10·0.01 = 0.1 → int(9.9) = 9 → 1 runs (any strength above 0 runs at least one step).
    expect(stepsLabel(10, 0.01)).toBe('1 of 10 steps');
    expect(stepsLabel(10, 0)).toBe('');
  });
});

describe('init image store', () => {
  it('a file becomes the source: the server keeps it, the size becomes its own (rounded to 16), the job carries init', async () => {
    client.handlers['inputs.put'] = () => ({ sha256: SHA, width: 1000, height: 600, format: 'png' });
    const init = useInitImageStore();
    const gen = useGenerateStore();
    await gen.loadModels();
    await init.fromFile(png(), (s) => {
      gen.setSize('width', s.width);
      gen.setSize('height', s.height);
    });
    expect(init.source).toMatchObject({ sha256: SHA, width: 1000, height: 600 });
    expect([gen.form.width, gen.form.height]).toEqual([1008, 608]);
    gen.form.prompt = 'a harbour';
    init.settings.strength = 0.4;
    init.settings.fit = 'fill';
    expect(await gen.submit()).toEqual({ jobId: 1 });
    const submitted = client.calls.find((c) => c.method === 'jobs.submit')!.params as { params: { init: unknown } };
    expect(submitted.params.init).toEqual({ sha256: SHA, strength: 0.4, fit: 'fill' });
  });

  it('a refusal from the server (corrupt, bomb) is shown and nothing is kept; a wrong type is refused before sending', async () => {
    client.handlers['inputs.put'] = () => {
      throw new StudioError('invalid_input', 'The init image cannot be used: This is not a PNG, JPEG or WebP image.');
    };
    const init = useInitImageStore();
    expect(await init.fromFile(png())).toBeUndefined();
    expect(init.error).toMatch(/not a PNG, JPEG or WebP/);
    expect(init.source).toBeUndefined();
    const sent = client.calls.length;
    await init.fromFile(new Blob(['GIF89a'], { type: 'image/gif' }));
    expect(init.error).toMatch(/PNG, JPEG or WebP image \(this is image\/gif\)/);
    expect(client.calls.length).toBe(sent);
  });

  it('a mask of another size is refused; one of the same size makes the job an inpaint job with its blur', async () => {
    const sizes: Record<string, [number, number]> = { image: [512, 512], mask: [256, 256] };
    client.handlers['inputs.put'] = (p) => {
      const kind = (p as { kind: string }).kind;
      return { sha256: kind === 'image' ? SHA : MASK, width: sizes[kind]![0], height: sizes[kind]![1], format: 'png' };
    };
    const init = useInitImageStore();
    await init.fromFile(png());
    await init.setMask(png());
    expect(init.error).toMatch(/mask is 256×256 but the init image is 512×512/);
    expect(init.mask).toBeUndefined();
    sizes.mask = [512, 512];
    await init.setMask(png());
    init.settings.maskBlur = 8;
    expect(init.initForSubmit()).toEqual({ sha256: SHA, strength: 0.75, fit: 'resize', mask: { sha256: MASK, blur: 8 } });
  });

  it('strength outside (0, 1] and a strength sweep without an image stop the submit with a clear message', async () => {
    client.handlers['inputs.put'] = () => ({ sha256: SHA, width: 64, height: 64, format: 'png' });
    const init = useInitImageStore();
    const gen = useGenerateStore();
    await gen.loadModels();
    gen.form.prompt = 'x';
    gen.form.axis = 'strength';
    gen.form.axisValues = '0.3, 0.6';
    expect(await gen.submit()).toBeUndefined();
    expect(gen.errors.sweep).toMatch(/strength sweep needs an init image/);
    await init.fromFile(png());
    init.settings.strength = 0;
    expect(await gen.submit()).toBeUndefined();
    expect(gen.submitError).toMatch(/Strength must be above 0 and at most 1/);
    init.settings.strength = 0.5;
    expect(await gen.submit()).toEqual({ jobId: 1 });
    const submitted = client.calls.filter((c) => c.method === 'jobs.submit');
    expect(submitted).toHaveLength(1);
    expect((submitted[0]!.params as { sweep: unknown }).sweep).toMatchObject({ axis: { kind: 'strength', values: [0.3, 0.6] } });
  });

  it('Reuse of an image made from an image brings back its source, mask, strength, fit and blur', async () => {
    client.handlers['inputs.get'] = ({ sha256 }) => ({ sha256, width: 64, height: 64, format: 'png', mimeType: 'image/png', dataBase64: 'iVBORw0KGgo=' });
    const gen = useGenerateStore();
    await gen.loadModels();
    gen.applyReuse({ prompt: 'p', negativePrompt: '', init: { sha256: SHA, imageId: 3, strength: 0.35, fit: 'crop', mask: { sha256: MASK, blur: 2 } } });
    const init = useInitImageStore();
    await expect.poll(() => init.mask?.sha256).toBe(MASK);
    expect(init.source).toMatchObject({ sha256: SHA, imageId: 3 });
    expect(init.initForSubmit()).toEqual({ sha256: SHA, imageId: 3, strength: 0.35, fit: 'crop', mask: { sha256: MASK, blur: 2 } });
  });
});
