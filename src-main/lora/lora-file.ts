// A LoRA file read for use: its safetensors header checked, its keys sorted into diffusers modules per
// component (keys.ts), and each layer's A/B factors and α read (fused kohya qkv sliced by rows). The base label
// comes from the shapes; whether it fits is decided against the loaded graph (lora-pass.ts).
import path from 'node:path';
import { StudioError } from '../../src-shared/errors';
import { baseFromShapes, parseLoraKeys, type KeyStyle, type LoraBase, type LoraComponent } from './keys';
import type { LoraFactors } from './lora-pass';
import { SafetensorsFile } from './safetensors';

export interface LoraFileInfo {
  styles: KeyStyle[];
  base: LoraBase;
  /** Largest rank among the layers. */
  rank: number;
  /** Layers per component. */
  components: Partial<Record<LoraComponent, number>>;
  unknown: string[];
  metadata: Record<string, string>;
}

export interface LoraFileFactors extends LoraFileInfo {
  factors: Map<LoraComponent, LoraFactors[]>;
}

function shapeOf(file: SafetensorsFile): (name: string) => number[] | undefined {
  return (name) => file.entry(name)?.shape;
}

/** Header, keys and label only (no tensor data beyond the α scalars is read). */
export function inspectLoraFile(filePath: string): LoraFileInfo {
  const file = SafetensorsFile.open(filePath, path.basename(filePath));
  try {
    return describe(file, false);
  } finally {
    file.close();
  }
}

/** Everything the graph pass needs, per component. */
export function readLoraFactors(filePath: string): LoraFileFactors {
  const file = SafetensorsFile.open(filePath, path.basename(filePath));
  try {
    return describe(file, true) as LoraFileFactors;
  } finally {
    file.close();
  }
}

function describe(file: SafetensorsFile, withFactors: boolean): LoraFileInfo | LoraFileFactors {
  const shapes = shapeOf(file);
  const parsed = parseLoraKeys(file.names, shapes);
  const factors = new Map<LoraComponent, LoraFactors[]>();
  const components: Partial<Record<LoraComponent, number>> = {};
  const unknown = [...parsed.unknown];
  let maxRank = 0;
  const alphaCache = new Map<string, number>();
  for (const layer of parsed.layers) {
    const down = shapes(layer.down) as number[];
    const up = shapes(layer.up) as number[];
    // A Linear LoRA: A [r, in], B [out, r] (a conv LoCon's 4-D factors have no Linear to go to).
    if (down.length !== 2 || up.length !== 2 || up[1] !== down[0]) {
      if (!unknown.includes(layer.key)) unknown.push(layer.key);
      continue;
    }
    const rank = down[0] as number;
    const inF = down[1] as number;
    const parts = layer.slice?.parts ?? 1;
    const fullOut = up[0] as number;
    if (fullOut % parts !== 0) {
      throw new StudioError('invalid_input', `LoRA layer ${layer.key}: its up matrix has ${fullOut} rows, not a multiple of ${parts} (fused q, k, v)`, { reason: 'shape-mismatch', layer: layer.key });
    }
    const out = fullOut / parts;
    maxRank = Math.max(maxRank, rank);
    components[layer.component] = (components[layer.component] ?? 0) + 1;
    let alpha = rank;
    if (layer.alpha) {
      let a = alphaCache.get(layer.alpha);
      if (a === undefined) {
        const v = file.readFloat32(layer.alpha);
        if (v.length !== 1 || !Number.isFinite(v[0])) throw new StudioError('invalid_input', `LoRA layer ${layer.key}: alpha is not one finite number`, { reason: 'bad-alpha', layer: layer.key });
        a = v[0] as number;
        alphaCache.set(layer.alpha, a);
      }
      alpha = a;
    }
    if (!withFactors) continue;
    const downValues = file.readFloat32(layer.down);
    let upValues = file.readFloat32(layer.up);
    if (parts > 1) {
      const index = layer.slice?.index ?? 0;
      upValues = upValues.slice(index * out * rank, (index + 1) * out * rank);
    }
    const list = factors.get(layer.component) ?? [];
    list.push({ module: layer.module, key: layer.key, down: downValues, up: upValues, rank, in: inF, out, alpha, sai: layer.sai });
    factors.set(layer.component, list);
  }
  if (parsed.layers.length === 0) {
    throw new StudioError('invalid_input', `Nothing in this file is a LoRA layer for Stable Diffusion 3.5${unknown.length ? ` (keys such as ${unknown.slice(0, 3).join(', ')})` : ''}`, { reason: 'nothing-matched' });
  }
  const info: LoraFileInfo = { styles: parsed.styles, base: baseFromShapes(parsed, shapes), rank: maxRank, components, unknown, metadata: file.metadata };
  return withFactors ? { ...info, factors } : info;
}
