// ORT sessions for models: THE place one is created (from a graph file, or a derived graph's bytes with its
// external data left in the model folder) and the session options per provider and memory mode. LoadedModel
// (sessions.ts), UpscalerSession and the benchmarks create theirs here.
import fs from 'node:fs';
import { ort } from './ort';
import type { EpChoice, MemoryMode } from '../../src-shared/generation';
import type { ProbeRunner } from './ort-probe';

export interface SessionOptions {
  ep: EpChoice;
  /** intraOpNumThreads (ORT's default when omitted; tests use 1). */
  threads?: number;
  memory: MemoryMode;
  /** Where op-probe answers are cached on disk (ort-probe.ts); absent: in this process's memory only. */
  probeCacheDir?: string;
  /** Where op probes run (the worker's: in a child process the host starts, issue 18 §2); absent: this process. */
  probeRunner?: ProbeRunner;
  /**
   * The studio's folder of derived graphs (`<data>/graphs`, model-folder/derived-graphs.ts); absent: a
   * private temporary folder of this process.
   */
  graphsDir?: string;
}

/** What a session is created from: a graph file; for a derived graph also the folder of its external data. */
export interface GraphSource {
  path: string;
  /** The original component folder (real path, checked): ORT resolves the derived graph's external data there. */
  externalDataDir?: string;
}

let sessionCreations = 0;
/** ORT sessions this process has created for models so far (the worker reports how many a request needed). */
export function sessionsCreated(): number {
  return sessionCreations;
}

/**
 * Creates a session from a graph file. A derived graph (it lives in the studio's folder, its weights in the
 * model folder) is handed to ORT as bytes with `session.model_external_initializers_file_folder_path`, so
 * ORT resolves (and contains) its external data in the original component folder; the weights are still
 * read by ORT from their file, never through a buffer.
 */
export async function createSession(graph: GraphSource, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  sessionCreations++;
  if (graph.externalDataDir === undefined) return ort.InferenceSession.create(graph.path, options);
  const bytes = await fs.promises.readFile(graph.path);
  return ort.InferenceSession.create(bytes, {
    ...options,
    extra: { ...options.extra, 'session.model_external_initializers_file_folder_path': graph.externalDataDir },
  });
}

/** ORT session options for one provider (the benchmark uses the same to time raw runs). */
export function ortSessionOptions(options: SessionOptions, provider: string): ort.InferenceSession.SessionOptions {
  const o: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    ...(options.threads !== undefined ? { intraOpNumThreads: options.threads } : {}),
    // Low memory: no CPU arena, so memory goes back as soon as a session or tensor is released.
    ...(options.memory === 'low' ? { enableCpuMemArena: false } : {}),
    // DirectML needs sequential execution and no memory pattern.
    ...(provider === 'dml' ? { executionMode: 'sequential' as const, enableMemPattern: false } : {}),
  };
  return o;
}
