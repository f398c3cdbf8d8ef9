// The image detail panel's LoRA section, rendered (server-side, no DOM): a LoRA whose keys matched nothing in the
// model carries a visible, labelled warning listing those keys (issue #20 §2), long lists fold behind "Show N more".
import { describe, expect, it } from 'vitest';
import { createSSRApp, h } from 'vue';
import { renderToString } from 'vue/server-renderer';
import LoraDetails from './LoraDetails.vue';

const hashes = { sha256: 'ab'.repeat(32), a1111Hash: '0123456789ab', autoV2: 'abababab01' };

function render(meta: Record<string, unknown> | null): Promise<string> {
  return renderToString(createSSRApp({ render: () => h(LoraDetails, { meta }) }));
}

function text(html: string): string {
  return html.replace(/<!--.*?-->/gs, '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
}

describe('LoraDetails', () => {
  it('shows each LoRA with its strength and applied layers, and no warning when every key matched', async () => {
    const html = await render({ loras: [{ name: 'ink wash', strength: 0.5, ...hashes, applied: { transformer: 24 }, unmatched: [] }] });
    const t = text(html);
    expect(t).toContain('ink wash');
    expect(t).toContain('strength 0.5');
    expect(t).toContain('Layers applied: transformer 24');
    expect(html).not.toContain('role="note"');
  });

  it('warns, listing the keys that matched nothing', async () => {
    const keys = ['lora_unet_foo_bar.lora_down.weight', 'transformer.nowhere.lora_A.weight'];
    const html = await render({ loras: [{ name: 'odd', strength: 1, ...hashes, unmatched: keys }] });
    expect(html).toMatch(/role="note"[^>]*aria-label="Warning for LoRA odd"/);
    const t = text(html);
    expect(t).toContain('2 keys of this LoRA matched nothing in the model and were not applied');
    for (const k of keys) expect(t).toContain(k);
  });

  it('lists the first 8 keys and folds the rest behind a summary', async () => {
    const keys = Array.from({ length: 23 }, (_, i) => `transformer.x${i}.lora_A.weight`);
    const html = await render({ loras: [{ name: 'many', strength: 1, ...hashes, unmatched: keys }] });
    expect(text(html)).toContain('23 keys of this LoRA');
    expect(html).toMatch(/<summary[^>]*>Show 15 more<\/summary>/);
    for (const k of keys) expect(html).toContain(k);
  });

  it('renders nothing without LoRAs and skips an entry that does not parse', async () => {
    expect(text(await render(null))).toBe('');
    expect(text(await render({ loras: [{ name: 'bad', strength: 'x' }] }))).toBe('');
  });
});
