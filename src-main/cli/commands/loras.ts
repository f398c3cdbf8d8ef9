// `sd35-studio loras import PATH [--name N] [--link] | list [--json] | rename OLD NEW | remove NAME` (docs/architecture.md §8): the LoRA
// library in <data>/loras (core/loras/library.ts). A refused file exits ≠ 0 with the reason.
import path from 'node:path';
import { dataLayout } from '../../core/paths';
import { LoraLibrary, type LoraEntry } from '../../core/loras/library';
import { formatBytes } from '../../../src-shared/bytes';
import { boolOption, stringOption } from '../args';
import { defineCommand, type CliContext, type Command } from '../command';

function library(ctx: CliContext): LoraLibrary {
  const layout = dataLayout(ctx.dataDir);
  return new LoraLibrary(layout.loras, layout.graphs);
}

function view(e: LoraEntry): Record<string, unknown> {
  return { name: e.name, base: e.base, rank: e.rank, bytes: e.bytes, a1111Hash: e.a1111, autoV2: e.autoV2, sha256: e.sha256, title: e.title ?? null, triggerWords: e.triggerWords, linked: e.linked === true, ...(e.linked ? { path: e.file } : {}) };
}

function line(e: LoraEntry): string {
  return `${e.name}  ${e.baseLabel}  rank ${e.rank}  ${formatBytes(e.bytes)}  A1111 ${e.a1111}  AutoV2 ${e.autoV2}${e.triggerWords.length ? `  triggers: ${e.triggerWords.join(', ')}` : ''}${e.linked ? `  linked: ${e.file}` : ''}`;
}

export const LORAS_COMMANDS: Command[] = [
  defineCommand({
    path: ['loras', 'import'],
    usage: 'loras import PATH [--name NAME] [--link]',
    summary: 'Copy (or, with --link, link) a LoRA (.safetensors) into the library, checked and verified by hash',
    options: [
      { name: 'name', type: 'string', valueName: 'NAME', description: 'Name in the library (default: the file name)' },
      { name: 'link', type: 'boolean', description: 'Keep the file where it is (its path and sha256 are recorded; it is re-hashed at each use and refused if changed or missing; remove never deletes it)' },
    ],
    positionals: ['PATH'],
    async run(ctx) {
      const entry = library(ctx).import(path.resolve(ctx.positional.PATH!), stringOption(ctx.args, 'name'), { link: boolOption(ctx.args, 'link') });
      ctx.out.item(view(entry), `Imported ${line(entry)}`);
      return 0;
    },
  }),
  defineCommand({
    path: ['loras', 'list'],
    usage: 'loras list [--json]',
    summary: 'The LoRAs in the library: name, base, rank, size, hashes, trigger words',
    async run(ctx) {
      const all = library(ctx).list();
      if (ctx.out.json) for (const e of all) ctx.out.item(view(e));
      else ctx.out.text(all.length ? all.map(line).join('\n') : 'No LoRAs in the library yet (loras import PATH).');
      return 0;
    },
  }),
  defineCommand({
    path: ['loras', 'rename'],
    usage: 'loras rename OLD NEW',
    summary: 'Rename a LoRA in the library (its graphs and past images still find it by hash)',
    positionals: ['OLD', 'NEW'],
    async run(ctx) {
      const entry = library(ctx).rename(ctx.positional.OLD!, ctx.positional.NEW!);
      ctx.out.item(view(entry), `Renamed ${ctx.positional.OLD} to ${entry.name}`);
      return 0;
    },
  }),
  defineCommand({
    path: ['loras', 'remove'],
    usage: 'loras remove NAME',
    summary: 'Remove a LoRA from the library (and the graphs made with it)',
    positionals: ['NAME'],
    async run(ctx) {
      const entry = library(ctx).remove(ctx.positional.NAME!);
      ctx.out.item(view(entry), `Removed ${entry.name}`);
      return 0;
    },
  }),
];
