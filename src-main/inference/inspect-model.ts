// `sd35-studio inspect model`: every component's declared inputs/outputs and the tensor roles the pipeline
// would use, read from the graphs alone (no session, no weights).
import { StudioError } from '../../src-shared/errors';
import { ALL_COMPONENTS, openModelFolder, type ComponentName, type Layout } from '../model-folder/layouts';
import { readOnnxGraphInfo, type TensorMeta } from '../model-folder/onnx-graph';
import { resolveRoles, type ClipRoles, type ComponentRoles, type TensorRole } from './tensor-roles';
import type { ClipHidden } from '../../src-shared/generation';

export interface InspectedComponent {
  component: ComponentName;
  /** Relative to the model folder: 'unet/model.onnx'. */
  file: string;
  /** External-data files the graph refers to, with the bytes it needs from each. */
  externalData: { file: string; bytes: number }[];
  initializers: number;
  inputs: TensorMeta[];
  outputs: TensorMeta[];
  /** Role → tensor name (with its element type), when the roles resolve. */
  roles?: Record<string, string>;
  /** Why the roles do not resolve. */
  error?: string;
}

export interface ModelInspection {
  folder: string;
  layout: Layout;
  hasT5: boolean;
  /** undefined when a CLIP's roles do not resolve. */
  clipHidden?: ClipHidden;
  components: InspectedComponent[];
}

function describeRoles(roles: ComponentRoles): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(roles)) {
    if (typeof value === 'string') out[key] = value;
    else {
      const role = value as TensorRole;
      out[key] = `${role.name} (${role.type})`;
    }
  }
  return out;
}

/**
 * Every component's declared inputs/outputs (read from model.onnx, no weights loaded) and the roles the
 * pipeline would use — for `sd35-studio inspect model <folder>`.
 */
export async function inspectModel(folder: string): Promise<ModelInspection> {
  const info = await openModelFolder(folder);
  const components: InspectedComponent[] = [];
  const clipKinds: (ClipRoles['hiddenKind'] | undefined)[] = [];
  for (const component of ALL_COMPONENTS) {
    const files = info.components[component];
    if (!files) continue;
    const io = await readOnnxGraphInfo(files.model);
    const entry: InspectedComponent = {
      component,
      file: files.file,
      externalData: [...io.externalData].map(([file, bytes]) => ({ file: `${files.dir}/${file}`, bytes })),
      initializers: io.initializers.length,
      inputs: io.inputs,
      outputs: io.outputs,
    };
    try {
      const roles = resolveRoles(component, { folder: info.folder, file: files.file }, io);
      entry.roles = describeRoles(roles);
      if (component === 'text_encoder' || component === 'text_encoder_2') clipKinds.push((roles as ClipRoles).hiddenKind);
    } catch (err) {
      entry.error = StudioError.from(err).message;
      if (component === 'text_encoder' || component === 'text_encoder_2') clipKinds.push(undefined);
    }
    components.push(entry);
  }
  const inspection: ModelInspection = { folder: info.folder, layout: info.layout, hasT5: info.hasT5, components };
  if (clipKinds.length === 2 && clipKinds.every((k) => k !== undefined)) {
    inspection.clipHidden = clipKinds.every((k) => k === 'penultimate') ? 'penultimate' : 'last';
  }
  return inspection;
}
