// An import's result toast stayed up when the person went to Generate and covered the queue's buttons: the
// gallery's toasts show in the Gallery only; a toast of no view (an error from anywhere) shows in every view.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { createSSRApp, h } from 'vue';
import { renderToString } from 'vue/server-renderer';
import { setStudio } from '../studio';
import { fakeClient } from '../testing/fake-client';
import { useGalleryStore } from '../stores/gallery';
import { useToastsStore, type ToastView } from '../stores/toasts';
import AppToasts from './AppToasts.vue';

function render(view: ToastView): Promise<string> {
  const app = createSSRApp({ render: () => h(AppToasts, { view }) });
  app.use(createPinia());
  return renderToString(app);
}

let pinia: ReturnType<typeof createPinia>;
beforeEach(() => {
  pinia = createPinia();
  setActivePinia(pinia);
  setStudio(
    fakeClient({
      'gallery.import': () => ({ imported: [], rejected: [{ name: 'notes.txt', reason: 'Not a PNG file.' }] }),
    }),
  );
});

async function renderIn(view: ToastView): Promise<string> {
  const app = createSSRApp({ render: () => h(AppToasts, { view }) });
  app.use(pinia);
  return renderToString(app);
}

describe('AppToasts', () => {
  it("an import's result shows in the Gallery and not on Generate; an unscoped toast shows in both", async () => {
    await useGalleryStore().importFiles([{ name: 'notes.txt', size: 4, read: async () => 'AAAA' }]);
    useToastsStore().notify('error', 'The worker stopped.');
    const gallery = await renderIn('gallery');
    const generate = await renderIn('generate');
    expect(gallery).toContain('notes.txt: Not a PNG file.');
    expect(gallery).toContain('The worker stopped.');
    expect(generate).not.toContain('notes.txt');
    expect(generate).not.toMatch(/Imported|import/i);
    expect(generate).toContain('The worker stopped.');
    expect(await render('generate')).not.toContain('toast ');
  });
});
