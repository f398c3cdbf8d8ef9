// `sd35-studio models list|download|add-encoder|verify|import|remove`.
import path from 'node:path';
import { formatBytes } from '../../../src-shared/bytes';
import { StudioError } from '../../../src-shared/errors';
import { boolOption } from '../args';
import { defineCommand, type CliContext, type Command } from '../command';
import { createProgressBar } from '../progress';
import type { ModelService } from '../../core/models/service';

export const modelsListCommand: Command = defineCommand({
  path: ['models', 'list'],
  usage: 'models list',
  summary: 'The SD3.5 variants and other models, with install state and size on disk',
  options: [],
  async run(ctx) {
    const core = await ctx.openCore();
    const list = await core.api['models.list']({});
    for (const m of list.models) {
      const where = m.installed ? `  ${m.installed.path}` : '';
      const dl = m.download ? ` (${formatBytes(m.download.progress.done)} of ${formatBytes(m.download.progress.total)})` : '';
      ctx.out.item(m, `${m.id.padEnd(28)} ${m.state.padEnd(14)}${dl} ${m.sizeOnDisk ? formatBytes(m.sizeOnDisk) : ''}${where}`);
    }
    return 0;
  },
});

export const modelsDownloadCommand: Command = defineCommand({
  path: ['models', 'download'],
  usage: 'models download <id|owner/name[@rev]> [--no-t5]',
  summary: 'Download a model from Hugging Face, verified and resumable (Ctrl+C pauses)',
  options: [{ name: 'no-t5', type: 'boolean', description: 'Leave out the T5 text encoder (−9.5 GB; the pipeline runs with T5 off)' }],
  positionals: ['<id|owner/name[@rev]>'],
  async run(ctx) {
    const ref = ctx.positional['<id|owner/name[@rev]>']!;
    const core = await ctx.openCore();
    const bar = createProgressBar();
    try {
      const svc = core.models;
      const off = followDownload(ctx, svc, bar);
      const handle = await svc.download(ref, { t5: !boolOption(ctx.args, 'no-t5') });
      ctx.out.progress(`Downloading ${handle.repo} @ ${handle.commit.slice(0, 10)} (${formatBytes(handle.totalBytes)}) into ${svc.modelsDir}`);
      const onAbort = () => {
        ctx.out.progress('\nPausing (the downloaded parts are kept; run the same command to resume)…');
        void svc.pause(handle.id).catch(() => undefined);
      };
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      try {
        const result = await handle.done;
        bar.end(`Installed ${result.model} in ${result.path}`);
        ctx.out.item({ model: result.model, commit: result.commit, path: result.path, files: result.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })) }, `${result.path}`);
        return 0;
      } catch (err) {
        bar.end();
        if (ctx.signal.aborted) throw new StudioError('interrupted', 'Download paused; run the same command again to resume.');
        throw err;
      } finally {
        off();
        ctx.signal.removeEventListener('abort', onAbort);
      }
    } finally {
      // The downloads stop (and their state is saved) before defineCommand closes the core.
      await core.models.close().catch(() => undefined);
    }
  },
});

/** A download's events on stderr: the bar, retries, the op verdict, each verified file (non-TTY). */
function followDownload(ctx: CliContext, svc: ModelService, bar: ReturnType<typeof createProgressBar>): () => void {
  return svc.on((e) => {
    if (e.type === 'download-progress') {
      bar.draw(e.progress);
    } else if (e.type === 'download-retry') {
      ctx.out.progress(`retrying ${e.path} in ${Math.round(e.delayMs / 100) / 10} s (${e.reason})`);
    } else if (e.type === 'download-verdict') {
      // Shown before the large files start (the graphs were fetched and checked first).
      ctx.out.progress(`On this machine the model ${e.verdict.text}.`);
    } else if (e.type === 'file-verified') {
      if (!process.stderr.isTTY) ctx.out.progress(`verified ${e.path}`);
    }
  });
}

export const modelsAddEncoderCommand: Command = defineCommand({
  path: ['models', 'add-encoder'],
  usage: 'models add-encoder <id> [--dry-run]',
  summary: "Add image-to-image support to an installed model: download only its VAE encoder, verified (Ctrl+C pauses)",
  options: [{ name: 'dry-run', type: 'boolean', description: 'Only say which files it would download and their size' }],
  positionals: ['<id>'],
  async run(ctx) {
    const id = ctx.positional['<id>']!;
    const core = await ctx.openCore();
    const bar = createProgressBar();
    try {
      const svc = core.models;
      if (boolOption(ctx.args, 'dry-run')) {
        const plan = await core.api['models.addEncoder']({ id, dryRun: true });
        const text =
          plan.state === 'present'
            ? `${plan.id} already has the VAE encoder: image to image works.`
            : `${plan.id}: ${plan.files.length} files, ${formatBytes(plan.totalBytes)} from ${plan.repo} @ ${plan.commit.slice(0, 10)} (${plan.files.map((f) => f.path).join(', ')})`;
        ctx.out.item(plan, text);
        return 0;
      }
      const off = followDownload(ctx, svc, bar);
      try {
        const started = await svc.addEncoder(id);
        if (started.state === 'present') {
          ctx.out.item(started, `${started.id} already has the VAE encoder: image to image works.`);
          return 0;
        }
        ctx.out.progress(`Adding image-to-image support to ${started.id}: ${formatBytes(started.totalBytes)} from ${started.repo} @ ${started.commit.slice(0, 10)}`);
        const onAbort = () => {
          ctx.out.progress('\nPausing (the downloaded parts are kept; run the same command to resume)…');
          void svc.pause(started.id).catch(() => undefined);
        };
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        try {
          // The download's end (failed, paused, cancelled: its StudioError), then the model as it is now.
          await svc.running(started.id)?.done;
          const entry = await svc.get(started.id);
          if (entry.installed?.vaeEncoder !== true) throw new StudioError('internal', `The VAE encoder of ${started.id} did not install; run the command again.`);
          bar.end(`Image to image is available for ${entry.id}`);
          ctx.out.item({ model: entry.id, commit: started.commit, path: entry.installed.path, files: started.files }, entry.installed.path);
          return 0;
        } catch (err) {
          bar.end();
          if (ctx.signal.aborted) throw new StudioError('interrupted', 'Paused; run the same command again to resume.');
          throw err;
        } finally {
          ctx.signal.removeEventListener('abort', onAbort);
        }
      } finally {
        off();
      }
    } finally {
      // The download stops (and its state is saved) before defineCommand closes the core.
      await core.models.close().catch(() => undefined);
    }
  },
});

export const modelsVerifyCommand: Command = defineCommand({
  path: ['models', 'verify'],
  usage: 'models verify <id>',
  summary: "Re-hash every file of an installed model against Hugging Face's published sha256",
  options: [],
  positionals: ['<id>'],
  async run(ctx) {
    const id = ctx.positional['<id>']!;
    const core = await ctx.openCore();
    const r = await core.api['models.verify']({ id });
    ctx.out.item(r, r.ok ? `${id}: all ${r.files.length} files verified (${r.method})` : `${id}: ${r.problems.join('; ')}`);
    if (!r.ok) throw new StudioError('verification_failed', `${id} failed verification: ${r.problems.slice(0, 3).join('; ')}`);
    return 0;
  },
});

export const modelsImportCommand: Command = defineCommand({
  path: ['models', 'import'],
  usage: 'models import <folder>',
  summary: 'Register a local model folder (optimum or TensorStack layout) without copying it',
  options: [],
  positionals: ['<folder>'],
  async run(ctx) {
    const folder = path.resolve(ctx.positional['<folder>']!);
    const core = await ctx.openCore();
    const entry = await core.api['models.import']({ folder });
    ctx.out.item(entry, `Registered ${entry.id} (${entry.installed?.layout ?? 'unknown layout'}${entry.installed?.t5 === false ? ', without T5' : ''})`);
    return 0;
  },
});

export const modelsRemoveCommand: Command = defineCommand({
  path: ['models', 'remove'],
  usage: 'models remove <id>',
  summary: 'Delete an installed model (an imported folder is only unregistered)',
  options: [],
  positionals: ['<id>'],
  async run(ctx) {
    const id = ctx.positional['<id>']!;
    const core = await ctx.openCore();
    await core.api['models.remove']({ id });
    ctx.out.item({ removed: id }, `Removed ${id}`);
    return 0;
  },
});

export const MODELS_COMMANDS = [modelsListCommand, modelsDownloadCommand, modelsAddEncoderCommand, modelsVerifyCommand, modelsImportCommand, modelsRemoveCommand];
