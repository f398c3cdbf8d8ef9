// How the gallery states an image's size: the generation's (as recorded) and, when the file differs
// (hires fix, upscaling, crops, stand-in thumbnails), the size it was saved at and why, e.g.
// "892×1156, saved at 1784×2312 (hires ×2)".

export interface SizeFacts {
  /** The generation's recorded size. */
  width: number;
  height: number;
  /** The file's pixel size. */
  pixelWidth: number;
  pixelHeight: number;
  /** Other fields as the tool named them (A1111's "Hires upscale"), when known. */
  extra?: Record<string, unknown> | null;
}

function factor(n: number): string {
  return String(Math.round(n * 100) / 100);
}

/** "1024×1024", or "892×1156, saved at 1784×2312 (hires ×2)" when the file's size differs. */
export function describeSize(s: SizeFacts): string {
  const generated = `${s.width}×${s.height}`;
  if (s.width === s.pixelWidth && s.height === s.pixelHeight) return generated;
  const saved = `${s.pixelWidth}×${s.pixelHeight}`;
  const hires = s.extra?.['Hires upscale'];
  const rx = s.pixelWidth / s.width;
  const ry = s.pixelHeight / s.height;
  const sameRatio = Math.abs(rx - ry) / Math.max(rx, ry) < 0.01;
  let why: string;
  if (typeof hires === 'string' && hires.trim() !== '' && Number.isFinite(Number(hires))) why = `hires ×${factor(Number(hires))}`;
  else if (sameRatio && rx > 1) why = `upscaled ×${factor(rx)}`;
  else if (sameRatio && rx < 1) why = `reduced ×${factor(rx)}`;
  else why = 'cropped or resized';
  return `${generated}, saved at ${saved} (${why})`;
}

/**
 * An area in megapixels for the size hints: two decimals from 0.01 MP up ("1.05 MP"), two significant
 * digits below, so a small test size never reads "0.00 MP" (64 × 64 → "0.0041 MP").
 */
export function formatMegapixels(width: number, height: number): string {
  const mp = (width * height) / 1e6;
  if (!(mp > 0)) return '0 MP';
  return `${mp >= 0.01 ? mp.toFixed(2) : Number(mp.toPrecision(2)).toString()} MP`;
}
