// "Add image-to-image support" on a model card (server-side render, no DOM): the button with the size the core read
// from the repo tree (a dry run asked once per model and commit), its progress through the one download progress,
// the reason instead of the button for an imported folder, nothing for a model that has the encoder.
import { createPinia, setActivePinia, type Pinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { createSSRApp, h } from 'vue';
import { renderToString } from 'vue/server-renderer';
import { StudioError } from '../../../src-shared/errors';
import { progress } from '../../../src-shared/progress';
import { setStudio } from '../../studio';
import { fakeClient, type FakeClient } from '../../testing/fake-client';
import { useModelsStore, type ModelEntry, type ModelsList } from '../../stores/models';
import ModelCard from './ModelCard.vue';

const COMMIT = 'a'.repeat(40);
const MACHINE = { ramBytes: 64e9 };

function hubEntry(over: Partial<ModelEntry> = {}): ModelEntry {
  return {
    id: 'acme/tiny',
    source: 'hub',
    displayName: 'acme/tiny',
    repo: 'acme/tiny',
    state: 'installed',
    installed: { commit: COMMIT, path: '/models/acme--tiny/a', layout: 'tensorstack', t5: true, vaeEncoder: false },
    sizeOnDisk: 16_000_000_000,
    ...over,
  };
}

let client: FakeClient;
let pinia: Pinia;
let list: ModelsList;

beforeEach(() => {
  pinia = createPinia();
  setActivePinia(pinia);
  list = { models: [hubEntry()], modelsDir: '/models', freeDiskBytes: 1e12, machine: MACHINE };
  client = fakeClient({
    'models.list': () => list,
    'models.addEncoder': ({ id, dryRun }) => ({
      id,
      repo: 'acme/tiny',
      commit: COMMIT,
      state: dryRun ? 'planned' : 'started',
      files: [
        { path: 'vae_encoder/model.onnx', size: 1_180_000 },
        { path: 'vae_encoder/model.onnx.data', size: 67_000_000 },
      ],
      totalBytes: 68_180_000,
    }),
  });
  setStudio(client);
});

async function render(entry: ModelEntry): Promise<string> {
  const app = createSSRApp({ render: () => h(ModelCard, { entry, machine: MACHINE, freeDiskBytes: 1e12 }) });
  app.use(pinia);
  return renderToString(app);
}

const dryRuns = () => client.calls.filter((c) => c.method === 'models.addEncoder' && (c.params as { dryRun?: boolean }).dryRun);

describe('Add image-to-image support on the model card', () => {
  it('offers the button with the size from the dry run (asked once per model and commit)', async () => {
    const store = useModelsStore();
    await store.planEncoder('acme/tiny', COMMIT);
    await store.planEncoder('acme/tiny', COMMIT);
    expect(dryRuns()).toHaveLength(1);
    const html = await render(hubEntry());
    expect(html).toContain('Add image-to-image support (68.2 MB)');
    expect(html).toContain('data-testid="add-encoder"');
    expect(html).toMatch(/Not yet: downloaded without the VAE encoder/);
    expect(dryRuns()).toHaveLength(1);
  });

  it('starts the encoder download: the entry turns to downloading, then shows the one download progress', async () => {
    const store = useModelsStore();
    await store.refresh();
    expect(await store.addEncoder('acme/tiny')).toBe(true);
    expect(client.calls.some((c) => c.method === 'models.addEncoder' && (c.params as { dryRun?: boolean }).dryRun === undefined)).toBe(true);
    list = { ...list, models: [hubEntry({ state: 'downloading', download: { commit: COMMIT, t5: true, progress: progress('download', { status: 'running', done: 27_272_000, total: 68_180_000 }), adds: 'vae-encoder' } })] };
    await store.refresh();
    const html = await render(store.models[0]!);
    expect(html).toContain('Adding image to image 40%');
    expect(html).toContain('role="progressbar"');
    expect(html).toContain('27.3 MB of 68.2 MB');
    expect(html).not.toContain('data-testid="add-encoder"');
    expect(html).toContain('>Pause<');
  });

  it('keeps the error of a refused start under the model', async () => {
    client.handlers['models.addEncoder'] = ({ dryRun }) => {
      if (dryRun) return { id: 'acme/tiny', repo: 'acme/tiny', commit: COMMIT, state: 'planned', files: [], totalBytes: 68_000_000 };
      throw new StudioError('auth_required', 'acme/tiny is gated: accept its licence.');
    };
    const store = useModelsStore();
    expect(await store.addEncoder('acme/tiny')).toBe(false);
    expect(store.errors['acme/tiny']).toMatchObject({ code: 'auth_required' });
  });

  it('an imported folder gets the reason instead of the button; a model with the encoder gets neither', async () => {
    client.handlers['models.addEncoder'] = () => {
      throw new StudioError('invalid_input', 'folder:tiny was imported from the folder /x, so there is no Hugging Face repository to fetch its VAE encoder from.');
    };
    const imported = hubEntry({ id: 'folder:tiny', source: 'import', displayName: 'tiny', installed: { path: '/x', layout: 'tensorstack', t5: true, vaeEncoder: false } });
    const store = useModelsStore();
    await store.planEncoder('folder:tiny', 'folder');
    const html = await render(imported);
    expect(html).toContain('Not available: folder:tiny was imported from the folder /x');
    expect(html).not.toContain('data-testid="add-encoder"');
    const ready = await render(hubEntry({ installed: { commit: COMMIT, path: '/m', layout: 'tensorstack', t5: true, vaeEncoder: true } }));
    expect(ready).toContain('Available (VAE encoder installed)');
    expect(ready).not.toContain('Add image-to-image support');
  });
});
