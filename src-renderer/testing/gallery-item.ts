// A gallery item as the server lists it, for the store tests: image `id` made at 1_700_000_000_000 + id s (ms),
// 64 × 64, prompt `p<id>`, seed `<id>`; `over` sets any field.
import type { GalleryItem } from '../../src-shared/schemas/gallery';

export function galleryItem(id: number, over: Partial<GalleryItem> = {}): GalleryItem {
  return {
    id,
    createdAt: new Date(1_700_000_000_000 + id * 1000).toISOString(),
    prompt: `p${id}`,
    negativePrompt: '',
    seed: String(id),
    steps: 4,
    guidance: 0,
    width: 64,
    height: 64,
    pixelWidth: 64,
    pixelHeight: 64,
    model: 'm',
    favorite: false,
    bytes: 10,
    path: `${id}.png`,
    source: 'generated',
    ...over,
  };
}
