// `sd35-studio upscale --image PNG --with lanczos|NAME --scale 2|4` and `upscalers import PATH [--name N] | list |
// remove NAME` (docs/architecture.md §5 "Upscale", §8). `upscale` is a job of the queue, like the app's jobs.upscale
// and through the same owner (core/upscalers/upscale-job.ts): the file is kept as an input, the job runs here (owner
// 'cli') or, when the app or `serve` holds the data folder, in their queue while this process waits. The result goes
// into the gallery with the source's parameters and A1111's "Postprocess upscale by" / "Postprocess upscaler"; a
// super-resolution model runs tiled on the inference worker. Bad input (a file that is not an image, an upscaler
// graph that is not image → image, an unknown upscaler, a result over the limits) exits ≠ 0 with the reason and
// adds nothing.
import fs from 'node:fs';
import path from 'node:path';
import { formatBytes } from '../../../src-shared/bytes';
import { StudioError } from '../../../src-shared/errors';
import { BUILTIN_UPSCALER } from '../../../src-shared/generation';
import { progress } from '../../../src-shared/progress';
import type { JobView } from '../../../src-shared/schemas/jobs';
import { upscaleResult, upscaleScaleSchema, upscalerLabel, type UpscalerInfo, type UpscalersEvent } from '../../../src-shared/upscale';
import { checkInputImage } from '../../core/images/inputs';
import type { JobStore } from '../../core/jobs/store';
import { dataLayout } from '../../core/paths';
import { UpscalerLibrary } from '../../core/upscalers/library';
import { prepareUpscale } from '../../core/upscalers/upscale-job';
import { stringOption } from '../args';
import { defineCommand, type CliContext, type Command } from '../command';
import { createProgressBar } from '../progress';

function view(e: UpscalerInfo): Record<string, unknown> {
  return { name: e.name, scale: e.scale, bytes: e.bytes, sha256: e.sha256 };
}

function line(e: UpscalerInfo): string {
  return `${e.name}  ×${e.scale}  ${formatBytes(e.bytes)}  sha256 ${e.sha256.slice(0, 12)}`;
}

const POLL_MS = 150;

/** Next to the app or `serve`: the job runs in their queue; this process waits, reading the database. */
async function waitForJob(ctx: CliContext, store: JobStore, jobId: number, label: string): Promise<JobView> {
  const bar = createProgressBar();
  const onAbort = (): void => {
    try {
      store.cancelJob(jobId);
    } catch {
      // finished meanwhile
    }
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const job = store.require(jobId);
      const g = job.generations[0];
      if (g?.status === 'running' && g.step !== undefined && g.total !== undefined) bar.draw(progress('generate', { status: 'running', done: g.step, total: g.total, label }));
      if (store.isFinished(job.status)) return job;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    bar.end();
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

export const UPSCALE_COMMANDS: Command[] = [
  defineCommand({
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
      const scale = upscaleScaleSchema.safeParse(Number(scaleText));
      if (!scale.success || !/^[24]$/u.test(scaleText)) throw new StudioError('invalid_input', `--scale must be 2 or 4 (got "${scaleText}").`, { field: 'scale' });
      const withName = stringOption(ctx.args, 'with') ?? BUILTIN_UPSCALER;
      let buf: Buffer;
      try {
        buf = fs.readFileSync(file);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new StudioError(code === 'ENOENT' ? 'not_found' : 'invalid_input', `--image ${file} cannot be read${code ? ` (${code})` : ''}.`, { field: 'image' });
      }
      // The limits first, from the file's header (no data folder touched for a refused request).
      const info = checkInputImage(buf, `The image ${file}`);
      const result = upscaleResult(info.width, info.height, scale.data);
      if (result.refused) throw new StudioError('invalid_input', result.refused, { field: 'scale' });
      const core = await ctx.openCore();
      try {
        // THE owner (core/upscalers/upscale-job.ts): the same checks, job and save as the app's jobs.upscale.
        const prepared = await prepareUpscale({ dataRoot: core.layout.root, history: core.history }, { bytes: buf, what: `The image ${file}` }, withName, scale.data);
        const label = `upscale ×${scale.data} (${upscalerLabel(withName)})`;
        let job: JobView;
        let imageId: number | undefined;
        if (core.primary) {
          const { jobId } = core.jobs.submitUpscale(prepared, { owner: 'cli' });
          const bar = createProgressBar();
          let failure: StudioError | undefined;
          job = await core.jobs.runOwnJob(jobId, {
            signal: ctx.signal,
            onStep: (_id, s) => bar.draw(progress('generate', { status: 'running', done: s.step, total: s.total, rate: null, label })),
            onUpscaled: (_id, record) => {
              imageId = record.id;
            },
            onError: (_id, e) => {
              failure ??= e;
            },
          });
          bar.end();
          if (failure) throw failure;
        } else {
          const { jobId } = core.jobs.submitUpscale(prepared, { owner: 'queue' });
          ctx.out.progress(`The data folder is in use by another SD3.5 Studio process: upscale job ${jobId} was added to its queue; waiting for it.`);
          job = await waitForJob(ctx, core.jobs.store, jobId, label);
        }
        const g = job.generations[0];
        if (!g || g.status !== 'done') {
          if (g?.status === 'cancelled' || ctx.signal.aborted) throw new StudioError('cancelled', 'The upscale was cancelled.');
          throw new StudioError(g?.status === 'interrupted' ? 'interrupted' : 'internal', g?.error ?? 'The upscale did not finish.');
        }
        imageId ??= g.imageId;
        const out = imageId !== undefined ? core.history.imagePath(imageId) : undefined;
        const W = prepared.spec.width;
        const H = prepared.spec.height;
        if (ctx.out.json) ctx.out.item({ id: imageId, path: out, width: W, height: H, upscaler: withName, scale: scale.data, jobId: job.id });
        else ctx.out.text(`Image ${imageId}: ${out} (${W}×${H}, ${withName === BUILTIN_UPSCALER ? 'Lanczos' : `${withName} ×${scale.data}`})`);
        return 0;
      } finally {
        core.close();
      }
    },
  }),
  defineCommand({
    path: ['upscalers', 'import'],
    usage: 'upscalers import PATH [--name NAME]',
    summary: 'Copy a super-resolution ONNX model (image → image, ×2/×4) into <data>/upscalers; its scale is probed',
    options: [{ name: 'name', type: 'string', valueName: 'NAME', description: 'Name in the library (default: the file name)' }],
    positionals: ['PATH'],
    async run(ctx) {
      const source = path.resolve(ctx.positional.PATH!);
      const core = await ctx.openCore();
      const bar = createProgressBar();
      const off = core.events.subscribe((name, payload) => {
        const p = name === 'upscalers.changed' ? (payload as UpscalersEvent).progress : undefined;
        if (p?.status === 'running') bar.draw(p);
      });
      try {
        // THE import (core/upscalers/service.ts): the same check, copy and probe run as the app's upscalers.import.
        const name = stringOption(ctx.args, 'name');
        const entry = await core.upscalers.import({ path: source, ...(name !== undefined ? { name } : {}) }, ctx.signal).finally(() => {
          off();
          bar.end();
        });
        if (ctx.out.json) ctx.out.item(view(entry));
        else ctx.out.text(`Imported ${line(entry)}`);
        return 0;
      } finally {
        core.close();
      }
    },
  }),
  defineCommand({
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
  }),
  defineCommand({
    path: ['upscalers', 'remove'],
    usage: 'upscalers remove NAME',
    summary: 'Remove an imported upscaler',
    options: [],
    positionals: ['NAME'],
    async run(ctx) {
      const name = ctx.positional.NAME!;
      new UpscalerLibrary(dataLayout(ctx.dataDir).upscalers).remove(name);
      if (ctx.out.json) ctx.out.item({ name, removed: true });
      else ctx.out.text(`Removed ${name}`);
      return 0;
    },
  }),
];
