// LoRA'd graphs for a loaded model: each component a LoRA touches gets a derived graph (lora-pass.ts) in the
// studio's own derived-graphs folder, `<graphs>/<model key>/<component>/lora-<hash>.onnx` (0700 folders, written
// under a random temporary name with O_EXCL then renamed), never in the (untrusted) model folder. The hash covers
// the base graph's bytes, the LoRA files' sha256 and the pass version, so a cached graph is reused for the same
// (model, LoRAs) and a changed file makes a new one. A small JSON beside it keeps what was applied. The derived
// graph's original weights are found through ONNX Runtime's external-initializers folder option (see
// lora-pass.ts), which the session must be given: `externalDataFolder`.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../src-shared/errors';
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

export interface LoraGraph {
  /** The derived graph. */
  file: string;
  /** Where ONNX Runtime finds the original external data (the base graph's folder). */
  externalDataFolder: string;
}

export interface LoraReport {
  sha256: string;
  /** Layers applied, per component. */
  applied: Partial<Record<LoraComponent, number>>;
  /** LoRA keys/modules that matched no node of the loaded model (a warning). */
  unmatched: string[];
}

interface Sidecar {
  /** sha256 of the LoRA files in the graph (removing a LoRA removes its graphs). */
  loras: string[];
  applied: { lora: number; module: string }[];
  unmatched: [number, string[]][];
}

function modelKey(folder: string): string {
  return crypto.createHash('sha256').update(folder).digest('hex').slice(0, 16);
}

function writeExclusive(file: string, content: Buffer | string): void {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const tmp = path.join(path.dirname(file), `.${crypto.randomBytes(8).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/**
 * Derived graphs for the components the LoRAs touch. `bases` gives each component's base graph (model.onnx or
 * the portable graph). Refuses (StudioError invalid_input) a LoRA that does not fit (shape, naming the layer)
 * or where nothing matched in any component.
 */
export function prepareLoraGraphs(
  graphsDir: string,
  modelFolder: string,
  bases: Partial<Record<LoraComponent, string>>,
  loras: readonly LoraUse[],
  names: readonly string[] = loras.map((l) => path.basename(l.path)),
): { graphs: Map<LoraComponent, LoraGraph>; reports: LoraReport[] } {
  const files: LoraFileFactors[] = loras.map((l) => readLoraFactors(l.path));
  const graphs = new Map<LoraComponent, LoraGraph>();
  const reports: LoraReport[] = loras.map((l) => ({ sha256: l.sha256, applied: {}, unmatched: [] }));
  const components = new Set<LoraComponent>();
  for (const f of files) for (const c of f.factors.keys()) components.add(c);
  for (const component of components) {
    const base = bases[component];
    const layers = files.map((f) => f.factors.get(component) ?? []);
    if (!base) {
      // The model has no such component (no T5 downloaded): those layers match nothing.
      layers.forEach((ls, k) => reports[k]?.unmatched.push(...ls.map((l) => `${component}.${l.module}`)));
      continue;
    }
    const baseBytes = fs.readFileSync(base);
    const hash = crypto.createHash('sha256').update(`lora-pass ${LORA_PASS_VERSION}\n`).update(baseBytes);
    for (const l of loras) hash.update(`\n${l.sha256}`);
    const name = `lora-${hash.digest('hex').slice(0, 32)}`;
    const dir = path.join(graphsDir, modelKey(modelFolder), component);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `${name}.onnx`);
    const sidecarFile = path.join(dir, `${name}.json`);
    let sidecar: Sidecar | undefined;
    if (fs.existsSync(file) && fs.existsSync(sidecarFile)) {
      try {
        sidecar = JSON.parse(fs.readFileSync(sidecarFile, 'utf8')) as Sidecar;
      } catch {
        sidecar = undefined;
      }
    }
    if (!sidecar) {
      const passLoras: LoraForPass[] = layers.map((ls, index) => ({ index, layers: ls }));
      let result;
      try {
        result = applyLoraPass(baseBytes, passLoras, { label: `${component}/${path.basename(base)}` });
      } catch (err) {
        if (err instanceof StudioError && typeof err.details?.layer === 'string') {
          const which = names[files.findIndex((f) => f.factors.get(component)?.some((l) => l.key === err.details?.layer))] ?? 'A LoRA';
          throw new StudioError('invalid_input', `${which}: ${err.message}`, err.details);
        }
        throw err;
      }
      sidecar = { loras: loras.map((l) => l.sha256), applied: result.applied.map((a) => ({ lora: a.lora, module: a.module })), unmatched: [...result.unmatched] };
      writeExclusive(file, result.model);
      writeExclusive(sidecarFile, JSON.stringify(sidecar));
    }
    for (const a of sidecar.applied) {
      const r = reports[a.lora];
      if (r) r.applied[component] = (r.applied[component] ?? 0) + 1;
    }
    for (const [k, modules] of sidecar.unmatched) reports[k]?.unmatched.push(...modules.map((m) => (component === 'transformer' ? m : `${component}.${m}`)));
    graphs.set(component, { file, externalDataFolder: path.dirname(base) });
  }
  files.forEach((f, k) => reports[k]?.unmatched.push(...f.unknown));
  reports.forEach((r, k) => {
    if (Object.keys(r.applied).length === 0) {
      throw new StudioError('invalid_input', `${names[k] ?? 'The LoRA'}: nothing in it matched a layer of this model (${r.unmatched.slice(0, 3).join(', ') || 'no layers'})`, { reason: 'nothing-matched' });
    }
  });
  return { graphs, reports };
}

/** Removes the derived graphs of a model (when the model is removed). */
export function removeLoraGraphs(graphsDir: string, modelFolder: string): void {
  fs.rmSync(path.join(graphsDir, modelKey(modelFolder)), { recursive: true, force: true });
}

/** Removes every derived graph that holds a LoRA (when the LoRA is removed from the library). */
export function removeGraphsOfLora(graphsDir: string, sha256: string): number {
  let removed = 0;
  if (!fs.existsSync(graphsDir)) return 0;
  for (const model of fs.readdirSync(graphsDir)) {
    const modelDir = path.join(graphsDir, model);
    if (!fs.statSync(modelDir).isDirectory()) continue;
    for (const component of fs.readdirSync(modelDir)) {
      const dir = path.join(modelDir, component);
      if (!fs.statSync(dir).isDirectory()) continue;
      for (const f of fs.readdirSync(dir)) {
        if (!/^lora-[0-9a-f]+\.json$/u.test(f)) continue;
        let sidecar: Partial<Sidecar> = {};
        try {
          sidecar = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Partial<Sidecar>;
        } catch {
          // An unreadable sidecar: its graph is rebuilt when needed.
        }
        if (!sidecar.loras?.includes(sha256)) continue;
        fs.rmSync(path.join(dir, f.replace(/\.json$/u, '.onnx')), { force: true });
        fs.rmSync(path.join(dir, f), { force: true });
        removed++;
      }
    }
  }
  return removed;
}
