// `sd35-studio inspect tokens|sigmas|noise|model` (docs/architecture.md): what the pipeline feeds its models, for tests
// and for comparing with diffusers. These run in the CLI process: no worker, no data folder for a model folder.
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../../src-shared/errors';
import { randn } from '../../inference/noise';
import { MAX_SEED_TEXT, requireScheduler, requireSeed, SCHEDULERS } from '../../../src-shared/generation';
import { schedule } from '../../inference/sampling/schedules';
import { DEFAULT_SHIFT } from '../../inference/scheduler';
import type { ModelInspection } from '../../inference/inspect-model';
import { intOption, requiredString, stringOption } from '../args';
import { defineCommand, type CliContext, type Command } from '../command';
import { generateCommand, resolveModelFolder } from './generate';

/** Largest noise tensor `inspect noise` prints (1×16×1024×1024, a 8192² image's latents). */
export const MAX_NOISE_VALUES = 16 * 1024 * 1024;

/** A model reference → its folder; the data folder is opened only when the reference is not a folder. */
async function modelFolder(ctx: CliContext, ref: string): Promise<string> {
  const direct = path.resolve(ref.trim());
  if (ref.trim() && fs.existsSync(direct) && fs.statSync(direct).isDirectory()) return direct;
  // The core stays open until the command ends (defineCommand closes it).
  return (await resolveModelFolder(await ctx.openCore(), ref)).folder;
}

export function parseShape(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length < 1 || parts.length > 8 || parts.some((p) => !/^[1-9]\d{0,6}$/.test(p))) {
    throw new StudioError('invalid_input', `--shape must be positive whole numbers separated by commas, e.g. 1,16,128,128 (got "${text}")`);
  }
  const shape = parts.map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count > MAX_NOISE_VALUES) {
    throw new StudioError('invalid_input', `--shape ${text} has ${count} values; at most ${MAX_NOISE_VALUES} are printed.`);
  }
  return shape;
}

function floatOption(ctx: CliContext, name: string): number | undefined {
  const raw = stringOption(ctx.args, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) throw new StudioError('invalid_input', `--${name} must be a number, not "${raw}"`);
  return value;
}

function rows(values: readonly number[], perLine: number, format: (v: number) => string = String): string {
  const lines: string[] = [];
  for (let i = 0; i < values.length; i += perLine) lines.push(`  ${values.slice(i, i + perLine).map(format).join(' ')}`);
  return lines.join('\n');
}

export const inspectTokensCommand: Command = defineCommand({
  path: ['inspect', 'tokens'],
  usage: 'inspect tokens --model <id|folder> --prompt T',
  summary: 'Token ids fed to CLIP-L, CLIP-G and T5 (77, 77, 256)',
  options: [
    { name: 'model', type: 'string', valueName: 'ID|FOLDER', description: 'A model, or any folder holding tokenizer/, tokenizer_2/, tokenizer_3/' },
    { name: 'prompt', type: 'string', valueName: 'T', description: 'The prompt' },
  ],
  async run(ctx) {
    const ref = requiredString(ctx.args, 'model', 'Name the model or tokenizer folder: --model <id|folder>.');
    const prompt = requiredString(ctx.args, 'prompt', 'Give the prompt to tokenize: --prompt "a photo of a cat".');
    const folder = await modelFolder(ctx, ref);
    // Loaded on demand (like onnxruntime-node below), so other commands start without them.
    const { PromptTokenizers } = await import('../../inference/tokenizers/index');
    const tokenizers = await PromptTokenizers.load(folder);
    const tokens = tokenizers.encode(prompt);
    if (tokens.dropped.clip > 0 || tokens.dropped.t5 > 0) {
      ctx.out.progress(`The prompt is too long: ${tokens.dropped.clip} CLIP tokens (beyond 75) and ${tokens.dropped.t5} T5 tokens (beyond 255) are dropped.`);
    }
    if (!tokens.t5) ctx.out.progress(`${folder} has no tokenizer_3/: no T5 ids (the pipeline feeds zeros instead).`);
    ctx.out.item(
      { clipL: tokens.clipL, clipG: tokens.clipG, t5: tokens.t5 ?? null },
      [
        `CLIP-L (${tokens.clipL.length}):`,
        rows(tokens.clipL, 16),
        `CLIP-G (${tokens.clipG.length}):`,
        rows(tokens.clipG, 16),
        ...(tokens.t5 ? [`T5 (${tokens.t5.length}):`, rows(tokens.t5, 16)] : ['T5: none (no tokenizer_3/)']),
      ].join('\n'),
    );
    return 0;
  },
});

export const inspectSigmasCommand: Command = defineCommand({
  path: ['inspect', 'sigmas'],
  usage: 'inspect sigmas --steps N [--shift S] [--scheduler X]',
  summary: 'A schedule: sigmas (N+1, ending 0) and transformer timesteps (N)',
  options: [
    { name: 'steps', type: 'string', valueName: 'N', description: 'Number of steps' },
    { name: 'shift', type: 'string', valueName: 'S', description: `Scheduler shift (default ${DEFAULT_SHIFT})` },
    { name: 'scheduler', type: 'string', valueName: 'X', description: `Schedule: ${SCHEDULERS.join(', ')} (default normal)` },
  ],
  async run(ctx) {
    const steps = intOption(ctx.args, 'steps', { min: 1, max: 10_000 });
    if (steps === undefined) throw new StudioError('invalid_input', 'Give the number of steps: --steps N.');
    const shift = floatOption(ctx, 'shift') ?? DEFAULT_SHIFT;
    if (!(shift > 0)) throw new StudioError('invalid_input', `--shift must be a positive number (got ${shift}).`);
    const scheduler = requireScheduler(stringOption(ctx.args, 'scheduler') ?? 'normal');
    // beta can merge steps: then fewer than N+1 sigmas, as ComfyUI gives.
    const { sigmas, timesteps } = schedule(scheduler, steps, shift);
    ctx.out.item(
      { sigmas, timesteps },
      [`sigmas (${sigmas.length}):`, rows(sigmas, 8, (v) => v.toFixed(6)), `timesteps (${timesteps.length}):`, rows(timesteps, 8, (v) => v.toFixed(3))].join(
        '\n',
      ),
    );
    return 0;
  },
});

export const inspectNoiseCommand: Command = defineCommand({
  path: ['inspect', 'noise'],
  usage: 'inspect noise --seed S --shape B,16,h,w',
  summary: 'The initial latent noise for a seed (torch.randn on the CPU)',
  options: [
    { name: 'seed', type: 'string', valueName: 'S', description: `Seed, 0 … ${MAX_SEED_TEXT} (the noise uses its low 32 bits)` },
    { name: 'shape', type: 'string', valueName: 'B,16,h,w', description: 'Latent shape (image size / 8)' },
  ],
  async run(ctx) {
    const seedText = requiredString(ctx.args, 'seed', 'Give the seed: --seed S.');
    const shapeText = requiredString(ctx.args, 'shape', 'Give the latent shape: --shape 1,16,h,w.');
    const seed = BigInt(requireSeed(seedText, '--seed'));
    const shape = parseShape(shapeText);
    const values = Array.from(randn(seed, shape));
    ctx.out.item({ values }, [`noise [${shape.join(', ')}], seed ${seed}:`, rows(values, 8, (v) => v.toFixed(7))].join('\n'));
    return 0;
  },
});

function describeInspection(m: ModelInspection): string {
  const lines = [
    `${m.folder}`,
    `  layout ${m.layout}, T5 ${m.hasT5 ? 'present' : 'absent'}${m.clipHidden ? `, CLIP hidden state: ${m.clipHidden}` : ''}`,
  ];
  for (const c of m.components) {
    lines.push('', `${c.component} (${c.file}, ${c.initializers} initializers)`);
    for (const d of c.externalData) lines.push(`  external data ${d.file}: ${d.bytes} bytes`);
    for (const i of c.inputs) lines.push(`  in  ${i.name}: ${i.type} [${i.dims.join(', ')}]`);
    for (const o of c.outputs) lines.push(`  out ${o.name}: ${o.type} [${o.dims.join(', ')}]`);
    if (c.roles) for (const [role, tensor] of Object.entries(c.roles)) lines.push(`  role ${role} = ${tensor}`);
    if (c.error) lines.push(`  ! ${c.error}`);
  }
  return lines.join('\n');
}

export const inspectModelCommand: Command = defineCommand({
  path: ['inspect', 'model'],
  usage: 'inspect model <folder>',
  summary: "Every session's inputs/outputs with types, and the tensor roles the pipeline uses",
  options: [],
  async run(ctx) {
    const ref = ctx.rest[0];
    if (ref === undefined || ctx.rest.length > 1) throw new StudioError('invalid_input', 'Name one model folder: sd35-studio inspect model <folder>.');
    const folder = await modelFolder(ctx, ref);
    const { inspectModel } = await import('../../inference/inspect-model');
    const { planExecutionProviders, supportedBackends } = await import('../../inference/ep-plan');
    const inspection = await inspectModel(folder);
    // Which ops the portability pass rewrites for the provider auto would use here.
    const { inspectOps, providerLabel } = await import('../../inference/portability');
    const { openModelFolder } = await import('../../model-folder/layouts');
    const provider = planExecutionProviders('auto', process.platform, supportedBackends()).providers[0] ?? 'cpu';
    const opened = await openModelFolder(folder);
    const portability = await inspectOps(Object.values(opened.components).filter((c) => c !== undefined), provider);
    const lines = ['', `ops on ${providerLabel(provider)}:`];
    for (const c of portability.components) {
      const note = c.blocked.length > 0 ? `no kernel and no rewrite: ${c.blocked.join(', ')}` : c.rewritten.length > 0 ? `rewritten: ${c.rewritten.join(', ')}` : 'all have kernels';
      lines.push(`  ${c.file}: ${c.ops.length} ops, ${note}`);
    }
    ctx.out.item({ ...inspection, portability }, describeInspection(inspection) + lines.join('\n'));
    return 0;
  },
});

export const inspectCommands: Command[] = [inspectTokensCommand, inspectSigmasCommand, inspectNoiseCommand, inspectModelCommand];

/** The inference room's commands, registered in commands/index.ts. */
export const inferenceCommands: Command[] = [generateCommand, ...inspectCommands];
