// What core/ needs from its host runtime, as interfaces. The Electron app passes the
// implementations in src-main/electron/; plain Node (CLI, `serve`, tests) passes the twins in
// node-adapters.ts. core/ and inference/ never import electron. The worker spawner's interfaces are the
// inference room's (inference/worker-process.ts: the host, the spawners and the probes share them).
import type { WorkerSpawner } from '../inference/worker-process';

/** Stores secrets (the Hugging Face token) outside the database and logs. */
export interface SecretStore {
  /** Where the secret lives, for the Settings view ("OS keychain", "Hugging Face token file"…). */
  readonly description: string;
  /** A warning to show, e.g. Linux without a keyring (safeStorage falls back to plain text). */
  warning(): string | undefined;
  get(name: string): Promise<string | undefined>;
  set(name: string, value: string): Promise<void>;
  delete(name: string): Promise<void>;
  /**
   * Set when the store is a file other tools share (huggingface-cli's token file under plain
   * Node): its path. Clearing the token then leaves that file alone unless asked explicitly.
   */
  readonly sharedFile?: string;
}

/** Desktop notifications ("4 images ready"); a no-op under plain Node. */
export interface Notifier {
  /**
   * Shown when the window is not focused (the implementation decides); `jobId`: clicking it focuses the
   * window and that job.
   */
  notify(title: string, body: string, options?: { jobId?: number }): void;
}

/** Keeps the computer awake while a job or download runs; a no-op under plain Node. */
export interface PowerSaveBlocker {
  /** Returns a release function. */
  block(reason: string): () => void;
}

/** The OS file manager; `false` where there is none to ask (CLI, browser mode). */
export interface FileManager {
  reveal(file: string): boolean;
}

/**
 * Asks the person where to save a file and writes it there (the desktop app's save dialog, in the main process).
 * None under plain Node: there an export becomes a one-time download (core/images/export-downloads.ts).
 */
export interface FileSaver {
  /** `fileName`: the suggested name; resolves with the chosen file's base name, or `undefined` when cancelled. */
  save(fileName: string, data: Uint8Array): Promise<{ fileName: string } | undefined>;
}

export interface Adapters {
  spawner: WorkerSpawner;
  secrets: SecretStore;
  notifier: Notifier;
  power: PowerSaveBlocker;
  files: FileManager;
  /** The desktop app's save dialog; absent under plain Node (CLI, `serve`, tests). */
  saver?: FileSaver;
}
