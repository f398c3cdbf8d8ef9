// THE upscaler select, rendered (server-side, no DOM): Lanczos first, then the library; a value the library lacks is
// kept as "(not imported)" only where asked (the Hires fix form); the accessible name and `disabled` reach the <select>.
import { createPinia, setActivePinia } from 'pinia';
import { describe, expect, it } from 'vitest';
import { createSSRApp, h } from 'vue';
import { renderToString } from 'vue/server-renderer';
import { useUpscalersStore } from '../stores/upscalers';
import UpscalerSelect from './UpscalerSelect.vue';

async function render(props: { modelValue: string; keepUnlisted?: boolean; disabled?: boolean }): Promise<string> {
  const pinia = createPinia();
  setActivePinia(pinia);
  useUpscalersStore(pinia).imported = [{ name: 'esrgan-x2', scale: 2, bytes: 1000, sha256: 'a'.repeat(64) }];
  const app = createSSRApp({ render: () => h(UpscalerSelect, props) });
  app.use(pinia);
  return renderToString(app);
}

function optionTexts(html: string): string[] {
  return [...html.matchAll(/<option[^>]*>([^<]*)<\/option>/g)].map((m) => m[1]!);
}

describe('UpscalerSelect', () => {
  it('offers Lanczos first, then the imported upscalers with their factor; named and titled', async () => {
    const html = await render({ modelValue: 'lanczos' });
    expect(optionTexts(html)).toEqual(['Lanczos', 'esrgan-x2 (×2)']);
    expect(html).toContain('aria-label="Upscaler"');
    expect(html).toContain('title="Lanczos is built in; Import upscaler… in the Models view (or sd35-studio upscalers import) adds a super-resolution model"');
    expect(html).toMatch(/<option value="lanczos" selected>/);
  });

  it('keeps a value the library lacks only with keepUnlisted', async () => {
    expect(optionTexts(await render({ modelValue: 'gone-x4', keepUnlisted: true }))).toEqual(['Lanczos', 'esrgan-x2 (×2)', 'gone-x4 (not imported)']);
    expect(optionTexts(await render({ modelValue: 'gone-x4' }))).toEqual(['Lanczos', 'esrgan-x2 (×2)']);
    expect(optionTexts(await render({ modelValue: '', keepUnlisted: true }))).toEqual(['Lanczos', 'esrgan-x2 (×2)']);
  });

  it('passes disabled through to the select', async () => {
    expect(await render({ modelValue: 'lanczos', disabled: true })).toMatch(/<select[^>]* disabled/);
    expect(await render({ modelValue: 'lanczos' })).not.toMatch(/<select[^>]* disabled/);
  });
});
