// Tensor roles: which input or output of a component's graph plays which part in the pipeline,
// resolved from the names and element types the graph declares (read by the one graph reader in
// src-main/model-folder/) or ONNX Runtime's own session metadata (sessions.ts feeds it to the same
// resolvers). Layouts and folder checks live in src-main/model-folder/.
import { StudioError } from '../../src-shared/errors';
import type { ClipHidden } from '../../src-shared/generation';
import type { ComponentName } from '../model-folder/layouts';
import type { ComponentIo, TensorMeta } from '../model-folder/onnx-graph';

// ---------------------------------------------------------------------------------------------
// Tensor roles

export type FloatType = 'float32' | 'float16';
export type IdsType = 'int32' | 'int64';

export interface TensorRole<T extends string = string> {
  name: string;
  type: T;
}

export interface ClipRoles {
  ids: TensorRole<IdsType>;
  hidden: TensorRole<FloatType>;
  pooled: TensorRole<FloatType>;
  /** penultimate = hidden_states.{N-1} (diffusers-exact); last = last_hidden_state (TensorStack CLIP-L). */
  hiddenKind: ClipHidden;
}

export interface T5Roles {
  ids: TensorRole<IdsType>;
  hidden: TensorRole<FloatType>;
}

export interface TransformerRoles {
  sample: TensorRole<FloatType>;
  timestep: TensorRole<FloatType>;
  context: TensorRole<FloatType>;
  pooled: TensorRole<FloatType>;
  output: TensorRole<FloatType>;
}

export interface VaeRoles {
  latent: TensorRole<FloatType>;
  sample: TensorRole<FloatType>;
}

/**
 * The VAE encoder: image [B,3,H,W] → the latent distribution. `moments` = optimum's `latent_parameters` [B,32,h,w]
 * (mean ‖ log-variance); `mean` = a graph whose sampling was rewritten to output the mean (the mean-encoder pass);
 * `sampled` = an output drawn inside the graph (TensorStack's `latent_sample`), not usable as is.
 */
export interface VaeEncoderRoles {
  image: TensorRole<FloatType>;
  latent: TensorRole<FloatType>;
  latentKind: 'moments' | 'sampled';
}

export interface RoleContext {
  folder: string;
  /** 'text_encoder/model.onnx' */
  file: string;
}

function listNames(metas: TensorMeta[]): string {
  return metas.length === 0 ? 'none' : metas.map((m) => m.name).join(', ');
}

function roleError(ctx: RoleContext, what: string, tensor: string, detail: string): StudioError {
  return new StudioError(
    'invalid_input',
    `The model in ${ctx.folder} cannot be used: ${ctx.file} ${detail}. It should be an SD3.5 ONNX export in the optimum or TensorStack layout; re-download or re-export it.`,
    { folder: ctx.folder, file: ctx.file, tensor, role: what },
  );
}

function find(
  ctx: RoleContext,
  metas: TensorMeta[],
  kind: 'input' | 'output',
  names: string[],
  role: string,
): TensorMeta {
  for (const name of names) {
    const hit = metas.find((m) => m.name === name);
    if (hit) return hit;
  }
  throw roleError(
    ctx,
    role,
    names[0] as string,
    `has no ${kind} named ${names.map((n) => `'${n}'`).join(' or ')} (the ${role}; its ${kind}s are: ${listNames(metas)})`,
  );
}

function asFloat(ctx: RoleContext, meta: TensorMeta, role: string): TensorRole<FloatType> {
  if (meta.type !== 'float32' && meta.type !== 'float16') {
    throw roleError(ctx, role, meta.name, `declares '${meta.name}' as ${meta.type}, expected float32 or float16`);
  }
  return { name: meta.name, type: meta.type };
}

function asIds(ctx: RoleContext, meta: TensorMeta, role: string): TensorRole<IdsType> {
  if (meta.type !== 'int32' && meta.type !== 'int64') {
    throw roleError(ctx, role, meta.name, `declares '${meta.name}' as ${meta.type}, expected int32 or int64 token ids`);
  }
  return { name: meta.name, type: meta.type };
}

function checkLastDim(ctx: RoleContext, meta: TensorMeta, expected: number, role: string): void {
  const last = meta.dims[meta.dims.length - 1];
  if (typeof last === 'number' && last !== expected) {
    throw roleError(ctx, role, meta.name, `gives '${meta.name}' a last dimension of ${last}, expected ${expected}`);
  }
}

function idsInput(ctx: RoleContext, io: ComponentIo): TensorRole<IdsType> {
  const meta = io.inputs.length === 1 && io.inputs[0] ? io.inputs[0] : find(ctx, io.inputs, 'input', ['input_ids'], 'token ids');
  return asIds(ctx, meta, 'token ids');
}

/** CLIP: hidden = hidden_states.{N-1} of N+1 hidden-state outputs, else last_hidden_state; pooled = text_embeds, else pooler_output. */
export function resolveClipRoles(ctx: RoleContext, io: ComponentIo, width: number): ClipRoles {
  const ids = idsInput(ctx, io);
  const layers = io.outputs
    .map((o) => /^hidden_states\.(\d+)$/.exec(o.name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
  let hidden: TensorMeta | undefined;
  let hiddenKind: ClipRoles['hiddenKind'] = 'last';
  if (layers.length > 0) {
    const n = Math.max(...layers);
    hidden = io.outputs.find((o) => o.name === `hidden_states.${n - 1}`);
    if (hidden) hiddenKind = 'penultimate';
  }
  if (!hidden) {
    hidden = find(
      ctx,
      io.outputs,
      'output',
      layers.length > 0 ? [`hidden_states.${Math.max(...layers) - 1}`, 'last_hidden_state'] : ['last_hidden_state'],
      'hidden states',
    );
    hiddenKind = 'last';
  }
  checkLastDim(ctx, hidden, width, 'hidden states');
  const pooled = find(ctx, io.outputs, 'output', ['text_embeds', 'pooler_output'], 'pooled embedding');
  checkLastDim(ctx, pooled, width, 'pooled embedding');
  return {
    ids,
    hidden: asFloat(ctx, hidden, 'hidden states'),
    pooled: asFloat(ctx, pooled, 'pooled embedding'),
    hiddenKind,
  };
}

export function resolveT5Roles(ctx: RoleContext, io: ComponentIo): T5Roles {
  const ids = idsInput(ctx, io);
  const hidden =
    io.outputs.find((o) => o.name === 'last_hidden_state') ??
    (io.outputs.length === 1 ? io.outputs[0] : undefined) ??
    find(ctx, io.outputs, 'output', ['last_hidden_state'], 'hidden states');
  checkLastDim(ctx, hidden, 4096, 'hidden states');
  return { ids, hidden: asFloat(ctx, hidden, 'hidden states') };
}

export function resolveTransformerRoles(ctx: RoleContext, io: ComponentIo): TransformerRoles {
  const sample = find(ctx, io.inputs, 'input', ['hidden_states', 'sample'], 'latent input');
  const timestep = find(ctx, io.inputs, 'input', ['timestep', 'timesteps'], 'timestep input');
  const context = find(ctx, io.inputs, 'input', ['encoder_hidden_states'], 'text context input');
  const pooled = find(ctx, io.inputs, 'input', ['pooled_projections'], 'pooled text input');
  checkLastDim(ctx, context, 4096, 'text context input');
  checkLastDim(ctx, pooled, 2048, 'pooled text input');
  const output =
    io.outputs.find((o) => o.name === 'out_hidden_states' || o.name === 'out_sample') ??
    (io.outputs.length === 1 ? io.outputs[0] : undefined) ??
    find(ctx, io.outputs, 'output', ['out_hidden_states', 'out_sample'], 'velocity output');
  return {
    sample: asFloat(ctx, sample, 'latent input'),
    timestep: asFloat(ctx, timestep, 'timestep input'),
    context: asFloat(ctx, context, 'text context input'),
    pooled: asFloat(ctx, pooled, 'pooled text input'),
    output: asFloat(ctx, output, 'velocity output'),
  };
}

export function resolveVaeRoles(ctx: RoleContext, io: ComponentIo): VaeRoles {
  const latent =
    io.inputs.find((i) => i.name === 'latent_sample') ??
    (io.inputs.length === 1 ? io.inputs[0] : undefined) ??
    find(ctx, io.inputs, 'input', ['latent_sample'], 'latent input');
  const sample =
    io.outputs.find((o) => o.name === 'sample') ??
    (io.outputs.length === 1 ? io.outputs[0] : undefined) ??
    find(ctx, io.outputs, 'output', ['sample'], 'image output');
  return { latent: asFloat(ctx, latent, 'latent input'), sample: asFloat(ctx, sample, 'image output') };
}

export function resolveVaeEncoderRoles(ctx: RoleContext, io: ComponentIo): VaeEncoderRoles {
  const image =
    io.inputs.find((i) => i.name === 'sample') ??
    (io.inputs.length === 1 ? io.inputs[0] : undefined) ??
    find(ctx, io.inputs, 'input', ['sample'], 'image input');
  const moments = io.outputs.find((o) => o.name === 'latent_parameters');
  const latent =
    moments ??
    io.outputs.find((o) => o.name === 'latent_sample') ??
    (io.outputs.length === 1 ? io.outputs[0] : undefined) ??
    find(ctx, io.outputs, 'output', ['latent_parameters', 'latent_sample'], 'latent output');
  return {
    image: asFloat(ctx, image, 'image input'),
    latent: asFloat(ctx, latent, 'latent output'),
    latentKind: moments ? 'moments' : 'sampled',
  };
}

export type ComponentRoles = ClipRoles | T5Roles | TransformerRoles | VaeRoles | VaeEncoderRoles;

/** The roles of any component (CLIP-L is 768 wide, CLIP-G 1280). */
export function resolveRoles(component: ComponentName, ctx: RoleContext, io: ComponentIo): ComponentRoles {
  switch (component) {
    case 'text_encoder':
      return resolveClipRoles(ctx, io, 768);
    case 'text_encoder_2':
      return resolveClipRoles(ctx, io, 1280);
    case 'text_encoder_3':
      return resolveT5Roles(ctx, io);
    case 'transformer':
      return resolveTransformerRoles(ctx, io);
    case 'vae_decoder':
      return resolveVaeRoles(ctx, io);
    case 'vae_encoder':
      return resolveVaeEncoderRoles(ctx, io);
  }
}
