// An SD3.5 ONNX model folder: layout detection (optimum or TensorStack, DESIGN.md §4), validation
// (every file present, external data complete), the graph's declared inputs/outputs read straight
// from model.onnx (no weights loaded), and tensor-role resolution from a component's input/output
// names and element types. No onnxruntime here: sessions.ts feeds ORT's own metadata to the same
// resolvers.
import type { ClipHidden, ModelLayout } from '../../src-shared/generation';
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../src-shared/errors';

export type Layout = ModelLayout;
export type ComponentName = 'text_encoder' | 'text_encoder_2' | 'text_encoder_3' | 'transformer' | 'vae_decoder';
export const COMPONENTS: readonly ComponentName[] = [
  'text_encoder',
  'text_encoder_2',
  'text_encoder_3',
  'transformer',
  'vae_decoder',
];

/** One declared input or output: element type as ORT names it ('float32', 'int64', …). */
export interface TensorMeta {
  name: string;
  type: string;
  dims: (number | string)[];
}

export interface ComponentIo {
  inputs: TensorMeta[];
  outputs: TensorMeta[];
}

export interface ComponentFiles {
  component: ComponentName;
  /** Folder of the component inside the model folder ('unet' for the TensorStack transformer). */
  dir: string;
  /** Absolute path of model.onnx. */
  model: string;
  /** Path relative to the model folder, for messages ('unet/model.onnx'). */
  file: string;
}

export interface ModelFolder {
  folder: string;
  layout: Layout;
  hasT5: boolean;
  components: Partial<Record<ComponentName, ComponentFiles>>;
}

// ---------------------------------------------------------------------------------------------
// Layout and files

const TRANSFORMER_DIRS: Record<Layout, string> = { optimum: 'transformer', tensorstack: 'unet' };

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function missingFile(folder: string, file: string, why: string): StudioError {
  return new StudioError(
    'not_found',
    `The model in ${folder} is incomplete: ${file} is missing (${why}). Re-download the model, or import a complete folder.`,
    { folder, file },
  );
}

/** Which layout a folder has, from its transformer folder; undefined when it has neither. */
export function detectLayout(folder: string): Layout | undefined {
  if (isFile(path.join(folder, 'transformer', 'model.onnx'))) return 'optimum';
  if (isFile(path.join(folder, 'unet', 'model.onnx'))) return 'tensorstack';
  return undefined;
}

function componentFiles(folder: string, layout: Layout, component: ComponentName): ComponentFiles {
  const dir = component === 'transformer' ? TRANSFORMER_DIRS[layout] : component;
  return { component, dir, model: path.join(folder, dir, 'model.onnx'), file: `${dir}/model.onnx` };
}

export interface OpenModelFolderOptions {
  /** Read every model.onnx and check its external-data files exist and are long enough (default true). */
  checkExternalData?: boolean;
}

/**
 * Detects the layout and checks the folder is complete: the four required components (and T5 when its
 * folder exists), the tokenizer files, and the external data each model.onnx refers to.
 * Fails with StudioError not_found (missing folder or file) or invalid_input (truncated data, not a model).
 */
export async function openModelFolder(folderIn: string, options: OpenModelFolderOptions = {}): Promise<ModelFolder> {
  const folder = path.resolve(folderIn);
  if (!isDir(folder)) {
    throw new StudioError('not_found', `Model folder not found: ${folder}. Check the path, or download the model first.`, {
      folder,
    });
  }
  const layout = detectLayout(folder);
  if (layout === undefined) {
    for (const dir of Object.values(TRANSFORMER_DIRS)) {
      if (isDir(path.join(folder, dir))) throw missingFile(folder, `${dir}/model.onnx`, 'the transformer graph');
    }
    throw new StudioError(
      'not_found',
      `${folder} does not look like an SD3.5 ONNX model: it has neither transformer/model.onnx (optimum layout) nor unet/model.onnx (TensorStack layout).`,
      { folder, file: 'transformer/model.onnx' },
    );
  }
  const components: Partial<Record<ComponentName, ComponentFiles>> = {};
  for (const component of COMPONENTS) {
    const files = componentFiles(folder, layout, component);
    if (!isFile(files.model)) {
      if (component === 'text_encoder_3' && !isDir(path.join(folder, files.dir))) continue; // downloaded without T5
      throw missingFile(folder, files.file, `the ${componentLabel(component)} graph`);
    }
    components[component] = files;
  }
  const hasT5 = components.text_encoder_3 !== undefined;
  const tokenizerFiles = ['tokenizer/vocab.json', 'tokenizer/merges.txt', 'tokenizer_2/vocab.json', 'tokenizer_2/merges.txt'];
  if (hasT5) tokenizerFiles.push('tokenizer_3/tokenizer.json');
  for (const file of tokenizerFiles) {
    if (!isFile(path.join(folder, file))) throw missingFile(folder, file, 'a tokenizer file');
  }
  if (options.checkExternalData !== false) {
    for (const files of Object.values(components)) await checkExternalData(folder, files);
  }
  return { folder, layout, hasT5, components };
}

export function componentLabel(component: ComponentName): string {
  switch (component) {
    case 'text_encoder':
      return 'CLIP-L text encoder';
    case 'text_encoder_2':
      return 'CLIP-G text encoder';
    case 'text_encoder_3':
      return 'T5 text encoder';
    case 'transformer':
      return 'transformer';
    case 'vae_decoder':
      return 'VAE decoder';
  }
}

async function checkExternalData(folder: string, files: ComponentFiles): Promise<void> {
  const info = await readOnnxGraphInfo(files.model);
  for (const [location, needed] of info.externalData) {
    const dataPath = path.resolve(path.dirname(files.model), location);
    const rel = `${files.dir}/${location}`;
    let size: number;
    try {
      size = fs.statSync(dataPath).size;
    } catch {
      throw missingFile(folder, rel, `${files.file} keeps its weights there`);
    }
    if (size < needed) {
      throw new StudioError(
        'invalid_input',
        `The model in ${folder} is incomplete: ${rel} has ${size} bytes but ${files.file} needs ${needed}. The download was cut short; verify or re-download the model.`,
        { folder, file: rel },
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reading model.onnx (protobuf) without loading weights: a tiny positional wire-format reader that
// skips raw tensor bytes by seeking, so even a model.onnx with embedded weights is cheap to read.

const ONNX_TYPES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
};

class PositionalReader {
  private window = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  private load(pos: number, minLength: number): void {
    const length = Math.min(Math.max(minLength, 1 << 16), this.size - pos);
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, buf, done, length - done, pos + done);
      if (n === 0) break;
      done += n;
    }
    this.window = buf.subarray(0, done);
    this.windowStart = pos;
  }

  bytes(pos: number, length: number): Buffer {
    if (pos + length > this.size) throw new Error('truncated protobuf');
    if (pos < this.windowStart || pos + length > this.windowStart + this.window.length) this.load(pos, length);
    return this.window.subarray(pos - this.windowStart, pos - this.windowStart + length);
  }

  byte(pos: number): number {
    return this.bytes(pos, 1)[0] as number;
  }
}

interface ByteSource {
  byte(pos: number): number;
  bytes(pos: number, length: number): Buffer;
}

class BufferSource implements ByteSource {
  constructor(private readonly buf: Buffer) {}
  byte(pos: number): number {
    const b = this.buf[pos];
    if (b === undefined) throw new Error('truncated protobuf');
    return b;
  }
  bytes(pos: number, length: number): Buffer {
    if (pos + length > this.buf.length) throw new Error('truncated protobuf');
    return this.buf.subarray(pos, pos + length);
  }
}

function readVarint(src: ByteSource, pos: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    const b = src.byte(pos + i);
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return [value, pos + i + 1];
  }
  throw new Error('bad varint');
}

type FieldValue = { wire: 0; value: number } | { wire: 2; start: number; length: number } | { wire: 1 | 5 };

/** Calls visit(field, value) for each field of the message in [start, end). */
function walk(src: ByteSource, start: number, end: number, visit: (field: number, v: FieldValue) => void): void {
  let pos = start;
  while (pos < end) {
    const [tag, afterTag] = readVarint(src, pos);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    pos = afterTag;
    if (wire === 0) {
      const [value, next] = readVarint(src, pos);
      pos = next;
      visit(field, { wire: 0, value });
    } else if (wire === 2) {
      const [length, next] = readVarint(src, pos);
      visit(field, { wire: 2, start: next, length });
      pos = next + length;
    } else if (wire === 1) {
      pos += 8;
      visit(field, { wire: 1 });
    } else if (wire === 5) {
      pos += 4;
      visit(field, { wire: 5 });
    } else {
      throw new Error(`unsupported protobuf wire type ${wire}`);
    }
  }
  if (pos !== end) throw new Error('malformed protobuf message');
}

function str(src: ByteSource, v: FieldValue): string {
  return v.wire === 2 ? src.bytes(v.start, v.length).toString('utf8') : '';
}

function parseValueInfo(buf: Buffer): TensorMeta {
  const src = new BufferSource(buf);
  const meta: TensorMeta = { name: '', type: 'unknown', dims: [] };
  walk(src, 0, buf.length, (f, v) => {
    if (f === 1) meta.name = str(src, v);
    else if (f === 2 && v.wire === 2) {
      // TypeProto.tensor_type (1) → elem_type (1), shape (2) → dim (1) → dim_value (1) | dim_param (2)
      walk(src, v.start, v.start + v.length, (f2, v2) => {
        if (f2 !== 1 || v2.wire !== 2) return;
        walk(src, v2.start, v2.start + v2.length, (f3, v3) => {
          if (f3 === 1 && v3.wire === 0) meta.type = ONNX_TYPES[v3.value] ?? `onnx-type-${v3.value}`;
          else if (f3 === 2 && v3.wire === 2) {
            walk(src, v3.start, v3.start + v3.length, (f4, v4) => {
              if (f4 !== 1 || v4.wire !== 2) return;
              let dim: number | string = '?';
              walk(src, v4.start, v4.start + v4.length, (f5, v5) => {
                if (f5 === 1 && v5.wire === 0) dim = v5.value;
                else if (f5 === 2) dim = str(src, v5);
              });
              meta.dims.push(dim);
            });
          }
        });
      });
    }
  });
  return meta;
}

export interface OnnxGraphInfo extends ComponentIo {
  /** External-data file (as written in the model, relative to its folder) → bytes the model needs. */
  externalData: Map<string, number>;
  initializerCount: number;
}

/** Reads a model.onnx's declared inputs/outputs and external-data references, skipping weight bytes. */
export async function readOnnxGraphInfo(modelPath: string): Promise<OnnxGraphInfo> {
  const fd = fs.openSync(modelPath, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const src = new PositionalReader(fd, size);
    const info: OnnxGraphInfo = { inputs: [], outputs: [], externalData: new Map(), initializerCount: 0 };
    const initializerNames = new Set<string>();
    let sawGraph = false;
    walk(src, 0, size, (field, v) => {
      if (field !== 7 || v.wire !== 2) return; // ModelProto.graph
      sawGraph = true;
      walk(src, v.start, v.start + v.length, (gf, gv) => {
        if (gv.wire !== 2) return;
        if (gf === 5) {
          // GraphProto.initializer: TensorProto name (8), external_data (13), data_location (14)
          info.initializerCount += 1;
          let location: string | undefined;
          let offset = 0;
          let length = 0;
          walk(src, gv.start, gv.start + gv.length, (tf, tv) => {
            if (tf === 8) initializerNames.add(str(src, tv));
            else if (tf === 13 && tv.wire === 2) {
              let key = '';
              let value = '';
              walk(src, tv.start, tv.start + tv.length, (ef, ev) => {
                if (ef === 1) key = str(src, ev);
                else if (ef === 2) value = str(src, ev);
              });
              if (key === 'location') location = value;
              else if (key === 'offset') offset = Number(value);
              else if (key === 'length') length = Number(value);
            }
          });
          if (location !== undefined) {
            const end = offset + length;
            info.externalData.set(location, Math.max(info.externalData.get(location) ?? 0, end));
          }
        } else if (gf === 11) info.inputs.push(parseValueInfo(Buffer.from(src.bytes(gv.start, gv.length))));
        else if (gf === 12) info.outputs.push(parseValueInfo(Buffer.from(src.bytes(gv.start, gv.length))));
      });
    });
    if (!sawGraph) throw new Error('no graph in the file');
    // IR < 4 lists initializers among the inputs; they are not inputs the caller feeds.
    info.inputs = info.inputs.filter((i) => !initializerNames.has(i.name));
    return info;
  } catch (err) {
    if (err instanceof StudioError) throw err;
    throw new StudioError(
      'invalid_input',
      `${modelPath} is not a readable ONNX model (${(err as Error).message}). The file may be damaged; re-download the model.`,
      { file: modelPath },
    );
  } finally {
    fs.closeSync(fd);
  }
}

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

export type ComponentRoles = ClipRoles | T5Roles | TransformerRoles | VaeRoles;

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
  }
}
