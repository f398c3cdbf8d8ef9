// LoRA'd graphs for a loaded model: each component a LoRA touches gets a derived graph (lora-pass.ts) through
// THE store of derived graphs (model-folder/derived-graphs.ts: `<data>/graphs/<model id>/<component>/lora-<hash>.onnx`,
// never the model folder), keyed by the LoRA files' sha256, the pass version and the portability rewrites it
// repeats, so a graph is made once per (model, LoRAs) and reused. What was applied (per LoRA: layers per
// component, unmatched keys) is computed from the graph's names and shapes each time (no weights are read for
// it), and `<graph>.loras` beside the graph lists the LoRA hashes so removing a LoRA removes its graphs.
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../src-shared/errors';
import { derivedGraph, writeExclusive } from '../model-folder/derived-graphs';
import type { ComponentFiles } from '../model-folder/layouts';
import { rewriteModel } from '../model-folder/portable';
import type { LoraComponent } from './keys';
import { readLoraFactors, type LoraFileFactors } from './lora-file';
import { applyLoraPass, type LoraForPass } from './lora-pass';

/** Bump when the pass writes different graphs for the same inputs. */
export const LORA_PASS_VERSION = 1;

export interface LoraUse {
  /** The LoRA file (a library file). */
  path: string;
  /** Its sha256 (the file's identity in the cache key). */
  sha256: string;
  strength: number;
}

export interface LoraBaseGraph {
  files: ComponentFiles;
  /** Ops the portability pass rewrites for the provider ('com.microsoft.GroupNorm', …): the LoRA graph has them rewritten too. */
  rewrittenOps: string[];
}

export interface LoraGraph {
  /** The derived graph. */
  file: string;
  /** The original component folder, where ORT resolves the model's own weights. */
  externalDataDir: string;
}

export interface LoraReport {
  sha256: string;
  /** Layers applied, per component. */
  applied: Partial<Record<LoraComponent, number>>;
  /** LoRA keys/modules that matched no node of the loaded model (a warning). */
  unmatched: string[];
}

/**
 * Derived graphs for the components the LoRAs touch. Refuses (StudioError invalid_input) a LoRA that does not
 * fit (shape, naming the LoRA and the layer) or where nothing matched in any component.
 */
export async function prepareLoraGraphs(
  graphsRoot: string,
  modelFolder: string,
  bases: Partial<Record<LoraComponent, LoraBaseGraph>>,
  loras: readonly LoraUse[],
  names: readonly string[] = loras.map((l) => path.basename(l.path)),
): Promise<{ graphs: Map<LoraComponent, LoraGraph>; reports: LoraReport[] }> {
  const files: LoraFileFactors[] = loras.map((l, k) => {
    try {
      return readLoraFactors(l.path);
    } catch (err) {
      if (err instanceof StudioError) throw new StudioError(err.code, `${names[k] ?? 'A LoRA'}: ${err.message}`, err.details);
      throw err;
    }
  });
  const graphs = new Map<LoraComponent, LoraGraph>();
  const reports: LoraReport[] = loras.map((l) => ({ sha256: l.sha256, applied: {}, unmatched: [] }));
  const components = new Set<LoraComponent>();
  for (const f of files) for (const c of f.factors.keys()) components.add(c);
  for (const component of components) {
    const base = bases[component];
    const passLoras: LoraForPass[] = files.map((f, index) => ({ index, layers: f.factors.get(component) ?? [] }));
    if (!base) {
      // The model has no such component (no T5 downloaded): those layers match nothing.
      passLoras.forEach((p) => reports[p.index]?.unmatched.push(...p.layers.map((l) => `${component}.${l.module}`)));
      continue;
    }
    const ops = new Set(base.rewrittenOps);
    const label = `${component}/${path.basename(base.files.model)}`;
    const produce = (source: Buffer): Buffer => {
      const rewritten = ops.size > 0 ? rewriteModel(source, ops, label).bytes : source;
      return applyLoraPass(rewritten, passLoras, { label }).model;
    };
    // Names, shapes and fit from the original graph (no weights read); a misfit is refused here, before any file.
    const check = (): ReturnType<typeof applyLoraPass> => {
      try {
        return applyLoraPass(fs.readFileSync(base.files.model), passLoras, { label });
      } catch (err) {
        if (err instanceof StudioError && typeof err.details?.layer === 'string') {
          const k = files.findIndex((f) => f.factors.get(component)?.some((l) => l.key === err.details?.layer));
          throw new StudioError('invalid_input', `${names[k] ?? 'A LoRA'}: ${err.message}`, err.details);
        }
        throw err;
      }
    };
    const result = check();
    for (const a of result.applied) {
      const r = reports[a.lora];
      if (r) r.applied[component] = (r.applied[component] ?? 0) + 1;
    }
    for (const [k, modules] of result.unmatched) reports[k]?.unmatched.push(...modules.map((m) => (component === 'transformer' ? m : `${component}.${m}`)));
    if (result.applied.length === 0) continue;
    const graph = await derivedGraph({
      root: graphsRoot,
      modelFolder,
      component: base.files,
      pass: 'lora',
      key: { version: LORA_PASS_VERSION, loras: loras.map((l) => l.sha256), ops: [...ops].sort() },
      produce,
    });
    const index = `${graph.file}.loras`;
    if (!fs.existsSync(index)) writeExclusive(index, Buffer.from(JSON.stringify(loras.map((l) => l.sha256))));
    graphs.set(component, { file: graph.file, externalDataDir: graph.externalDataDir });
  }
  files.forEach((f, k) => reports[k]?.unmatched.push(...f.unknown));
  reports.forEach((r, k) => {
    if (Object.keys(r.applied).length === 0) {
      throw new StudioError('invalid_input', `${names[k] ?? 'The LoRA'}: nothing in it matched a layer of this model (${r.unmatched.slice(0, 3).join(', ') || 'no layers'})`, { reason: 'nothing-matched' });
    }
  });
  return { graphs, reports };
}

/** Removes every derived graph that holds a LoRA (the LoRA left the library). Returns how many. */
export function removeGraphsOfLora(graphsRoot: string, sha256: string): number {
  let removed = 0;
  if (!fs.existsSync(graphsRoot)) return 0;
  for (const f of fs.readdirSync(graphsRoot, { recursive: true, encoding: 'utf8' })) {
    if (!f.endsWith('.onnx.loras')) continue;
    const index = path.join(graphsRoot, f);
    let shas: unknown;
    try {
      shas = JSON.parse(fs.readFileSync(index, 'utf8'));
    } catch {
      shas = [];
    }
    if (!Array.isArray(shas) || !shas.includes(sha256)) continue;
    fs.rmSync(index.slice(0, -'.loras'.length), { force: true });
    fs.rmSync(index, { force: true });
    removed++;
  }
  return removed;
}
