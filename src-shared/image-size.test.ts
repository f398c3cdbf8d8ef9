import { describe, expect, it } from 'vitest';
import { describeSize, formatMegapixels } from './image-size';

describe('describeSize', () => {
  it('states one size when the file is the size it was generated at', () => {
    expect(describeSize({ width: 1024, height: 1024, pixelWidth: 1024, pixelHeight: 1024 })).toBe('1024×1024');
  });

  it('names the hires factor the tool recorded, else the scale, else a crop', () => {
    expect(describeSize({ width: 892, height: 1156, pixelWidth: 1784, pixelHeight: 2312, extra: { 'Hires upscale': '2' } })).toBe(
      '892×1156, saved at 1784×2312 (hires ×2)',
    );
    expect(describeSize({ width: 832, height: 1216, pixelWidth: 1248, pixelHeight: 1824 })).toBe('832×1216, saved at 1248×1824 (upscaled ×1.5)');
    expect(describeSize({ width: 1024, height: 1024, pixelWidth: 512, pixelHeight: 512 })).toBe('1024×1024, saved at 512×512 (reduced ×0.5)');
    expect(describeSize({ width: 512, height: 400, pixelWidth: 1, pixelHeight: 1 })).toBe('512×400, saved at 1×1 (cropped or resized)');
  });
});

describe('formatMegapixels', () => {
  it('never says "0.00 MP" for a small size: 64 × 64 is 4,096 pixels', () => {
    expect(formatMegapixels(64, 64)).toBe('0.0041 MP');
    expect(formatMegapixels(8, 8)).toBe('0.000064 MP');
  });
  it('keeps two decimals from 0.01 MP up', () => {
    expect(formatMegapixels(1024, 1024)).toBe('1.05 MP');
    expect(formatMegapixels(128, 128)).toBe('0.02 MP');
    expect(formatMegapixels(2048, 2048)).toBe('4.19 MP');
  });
});
