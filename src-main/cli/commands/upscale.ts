// `sd35-studio upscale --image PNG --with lanczos|NAME --scale 2|4` and `upscalers import PATH [--name N] | list |
// remove NAME` (docs/architecture.md §5 "Upscale", §8). The upscaled image goes into the gallery (an import of the
// PNG, its parameters kept with A1111's "Postprocess upscale by" / "Postprocess upscaler" added); a super-resolution
// model runs tiled on the inference worker. Bad input (a file that is not an image, an upscaler graph that is not
// image → image, a result over the limits) exits ≠ 0 with the reason and adds nothing.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { formatBytes } from '../../../src-shared/bytes';
import { StudioError } from '../../../src-shared/errors';
import { BUILTIN_UPSCALER } from '../../../src-shared/generation';
import { progress } from '../../../src-shared/progress';
import { checkInputImage } from '../../core/images/inputs';
import { PARAMETERS_KEYWORD } from '../../../src-shared/metadata';
import { readPngInfo, withTextChunks, encodePng } from '../../formats/png';
import { findUpscaler, lanczos, upscaleWithModel } from '../../core/images/upscale';
import { dataLayout } from '../../core/paths';
import { UpscalerLibrary, type UpscalerEntry } from '../../core/upscalers/library';
import { stringOption } from '../args';
import type { CliContext, Command } from '../command';
import { createProgressBar } from '../progress';

/** The largest upscaled image: 8192 px a side and 32 MP (the gallery's PNG bounds stay far away). */
export const UPSCALE_LIMITS = { maxSide: 8192, maxPixels: 32 * 1024 * 1024 } as const;

function view(e: UpscalerEntry): Record<string, unknown> {
  return { name: e.name, scale: e.scale, bytes: e.bytes, sha256: e.sha256 };
}

function line(e: UpscalerEntry): string {
  return `${e.name}  ×${e.scale}  ${formatBytes(e.bytes)}  sha256 ${e.sha256.slice(0, 12)}`;
}

function one(ctx: CliContext, what: string): string {
  const v = ctx.rest[0];
  if (v === undefined) throw new StudioError('invalid_input', `${what} is required`);
  return v;
}

/** The source's parameters text with A1111's extras fields appended (modules/postprocessing.py writes these). */
function postprocessText(text: string | undefined, scale: number, upscaler: string): string {
  const fields = `Postprocess upscale by: ${scale}, Postprocess upscaler: ${upscaler === BUILTIN_UPSCALER ? 'Lanczos' : upscaler}`;
  if (text === undefined || text.trim() === '') return fields;
  return `${text}, ${fields}`;
}

export const UPSCALE_COMMANDS: Command[] = [
  {
    path: ['upscale'],
    usage: 'upscale --image PNG --with lanczos|NAME --scale 2|4',
    summary: 'Upscale an image (Lanczos, or an imported super-resolution model run tiled) into the gallery',
    options: [
      { name: 'image', type: 'string', valueName: 'PNG', description: 'The image to upscale (PNG, JPEG or WebP)' },
      { name: 'with', type: 'string', valueName: 'U', description: `${BUILTIN_UPSCALER} (built in) or an imported upscaler's name (upscalers list)` },
      { name: 'scale', type: 'string', valueName: 'S', description: 'The factor: 2 or 4' },
    ],
    async run(ctx) {
      const file = stringOption(ctx.args, 'image');
      if (file === undefined) throw new StudioError('invalid_input', 'Name the image: --image PNG.', { field: 'image' });
      const scaleText = stringOption(ctx.args, 'scale') ?? '2';
      if (scaleText !== '2' && scaleText !== '4') throw new StudioError('invalid_input', `--scale must be 2 or 4 (got "${scaleText}").`, { field: 'scale' });
      const scale = Number(scaleText);
      const withName = stringOption(ctx.args, 'with') ?? BUILTIN_UPSCALER;
      let buf: Buffer;
      try {
        buf = fs.readFileSync(file);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new StudioError(code === 'ENOENT' ? 'not_found' : 'invalid_input', `--image ${file} cannot be read${code ? ` (${code})` : ''}.`, { field: 'image' });
      }
      const info = checkInputImage(buf, `The image ${file}`);
      const W = info.width * scale;
      const H = info.height * scale;
      if (W > UPSCALE_LIMITS.maxSide || H > UPSCALE_LIMITS.maxSide || W * H > UPSCALE_LIMITS.maxPixels) {
        throw new StudioError('invalid_input', `${info.width}×${info.height} ×${scale} would be ${W}×${H}; at most ${UPSCALE_LIMITS.maxSide} px a side and 32 MP.`, { field: 'scale' });
      }
      const core = await ctx.openCore();
      try {
        const entry = withName === BUILTIN_UPSCALER ? undefined : findUpscaler(core.layout.root, withName);
        const decoded = await sharp(buf, { limitInputPixels: 16384 * 16384 }).flatten({ background: '#000000' }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
        const image = { rgb: new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.length), width: decoded.info.width, height: decoded.info.height };
        let rgb: Uint8Array;
        if (entry) {
          const bar = createProgressBar();
          const up = await upscaleWithModel(image, entry, { dataRoot: core.layout.root, host: () => core.jobs.inferenceHost(), signal: ctx.signal }, (done, total) =>
            bar.draw(progress('generate', { status: 'running', done, total, rate: null, label: `upscale ×${entry.scale} (tiles)` })),
          );
          bar.end();
          rgb = await lanczos(up, W, H);
        } else {
          rgb = await lanczos(image, W, H);
        }
        const source = info.format === 'png' ? readPngInfo(buf).chunks : [];
        const params = source.find((c) => c.keyword === PARAMETERS_KEYWORD);
        const chunks = [...source.filter((c) => c.keyword !== PARAMETERS_KEYWORD), { keyword: PARAMETERS_KEYWORD, text: postprocessText(params?.text, scale, entry?.name ?? BUILTIN_UPSCALER) }];
        const png = withTextChunks(encodePng({ width: W, height: H, channels: 3, data: rgb }, []), chunks);
        const record = await core.history.importFile(png, `${path.basename(file).replace(/\.[^.]+$/u, '')}-x${scale}.png`);
        const out = core.history.imagePath(record.id) ?? record.path;
        if (ctx.out.json) ctx.out.item({ id: record.id, path: out, width: W, height: H, upscaler: entry?.name ?? BUILTIN_UPSCALER, scale });
        else ctx.out.text(`Image ${record.id}: ${out} (${W}×${H}, ${entry ? `${entry.name} ×${entry.scale}` : 'Lanczos'})`);
        return 0;
      } finally {
        core.close();
      }
    },
  },
  {
    path: ['upscalers', 'import'],
    usage: 'upscalers import PATH [--name NAME]',
    summary: 'Copy a super-resolution ONNX model (image → image, ×2/×4) into <data>/upscalers; its scale is probed',
    options: [{ name: 'name', type: 'string', valueName: 'NAME', description: 'Name in the library (default: the file name)' }],
    async run(ctx) {
      const source = one(ctx, 'PATH');
      const core = await ctx.openCore();
      try {
        const lib = new UpscalerLibrary(core.layout.upscalers);
        const entry = await lib.import(source, stringOption(ctx.args, 'name'), async (file) => {
          const r = await core.jobs.inferenceHost().upscale({ file, rgb: new Uint8Array(0), width: 0, height: 0, scale: 0 }, { signal: ctx.signal });
          return r.scale;
        });
        if (ctx.out.json) ctx.out.item(view(entry));
        else ctx.out.text(`Imported ${line(entry)}`);
        return 0;
      } finally {
        core.close();
      }
    },
  },
  {
    path: ['upscalers', 'list'],
    usage: 'upscalers list [--json]',
    summary: 'The imported upscalers: name, scale, size',
    options: [],
    async run(ctx) {
      const all = new UpscalerLibrary(dataLayout(ctx.dataDir).upscalers).list();
      if (ctx.out.json) for (const e of all) ctx.out.item(view(e));
      else ctx.out.text(all.length ? all.map(line).join('\n') : `No upscalers imported yet (${BUILTIN_UPSCALER} is built in; upscalers import PATH adds one).`);
      return 0;
    },
  },
  {
    path: ['upscalers', 'remove'],
    usage: 'upscalers remove NAME',
    summary: 'Remove an imported upscaler',
    options: [],
    async run(ctx) {
      const name = one(ctx, 'NAME');
      new UpscalerLibrary(dataLayout(ctx.dataDir).upscalers).remove(name);
      if (ctx.out.json) ctx.out.item({ name, removed: true });
      else ctx.out.text(`Removed ${name}`);
      return 0;
    },
  },
];
