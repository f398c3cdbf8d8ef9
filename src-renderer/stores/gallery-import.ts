// Import batching for drag-and-drop: files with a real path (Electron) go by path; browser files are read
// to base64 and sent in calls that stay under the WebSocket message limit (16 MB) and the contract's
// 200 files per call. Too-large or unreadable files are rejected here with the reason. A plain module.
import { formatBytes } from '../../src-shared/bytes';
import { MAX_BROWSER_IMPORT_BYTES, type GalleryItem } from '../../src-shared/schemas/gallery';

export interface FileToImport {
  name: string;
  /** Set when the platform gives a real path (Electron); then the bytes are not read here. */
  path?: string;
  size: number;
  read: () => Promise<string>;
}

export type ImportEntry = { path: string } | { name: string; dataBase64: string };

export interface Rejected {
  name: string;
  reason: string;
}

export interface ImportSend {
  (files: ImportEntry[]): Promise<{ imported: GalleryItem[]; rejected: Rejected[] }>;
}

export interface ImportOutcome {
  imported: GalleryItem[];
  rejected: Rejected[];
  calls: number;
}

/** WebSocket messages are capped at 16 MB: keep one import call's base64 well under that. */
export const IMPORT_BATCH_CHARS = 12_000_000;
export const IMPORT_BATCH_FILES = 200;
export const MAX_IMPORT_FILE_BYTES = MAX_BROWSER_IMPORT_BYTES;

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Sends the files in batches; `onBatch` sees each call's answer as it comes (to show new images at once).
 * A failed call rejects every file of that batch with the error's message; the others still go.
 */
export async function importInBatches(
  files: readonly FileToImport[],
  send: ImportSend,
  onBatch?: (imported: GalleryItem[]) => void,
  limits: { chars: number; files: number; fileBytes: number } = { chars: IMPORT_BATCH_CHARS, files: IMPORT_BATCH_FILES, fileBytes: MAX_IMPORT_FILE_BYTES },
): Promise<ImportOutcome> {
  const out: ImportOutcome = { imported: [], rejected: [], calls: 0 };
  let batch: ImportEntry[] = [];
  let names: string[] = [];
  let chars = 0;
  const flush = async (): Promise<void> => {
    if (!batch.length) return;
    const sending = batch;
    const sendingNames = names;
    batch = [];
    names = [];
    chars = 0;
    out.calls++;
    try {
      const r = await send(sending);
      out.imported.push(...r.imported);
      out.rejected.push(...r.rejected);
      onBatch?.(r.imported);
    } catch (err) {
      for (const name of sendingNames) out.rejected.push({ name, reason: reasonOf(err) });
    }
  };
  for (const f of files) {
    if (f.path) {
      batch.push({ path: f.path });
      names.push(f.name);
    } else if (f.size > limits.fileBytes) {
      out.rejected.push({
        name: f.name,
        reason: `larger than ${formatBytes(limits.fileBytes)}, the limit for importing through the browser (use the desktop app or \`sd35-studio history import\`)`,
      });
      continue;
    } else {
      let data: string;
      try {
        data = await f.read();
      } catch (err) {
        out.rejected.push({ name: f.name, reason: `could not be read: ${reasonOf(err)}` });
        continue;
      }
      if (chars + data.length > limits.chars || batch.length >= limits.files) await flush();
      batch.push({ name: f.name, dataBase64: data });
      names.push(f.name);
      chars += data.length;
    }
    if (batch.length >= limits.files) await flush();
  }
  await flush();
  return out;
}

/** The toast's headline for an import's outcome. */
export function importHeadline(imported: number, rejected: number): string {
  if (imported === 0) return rejected === 1 ? 'The file was not imported.' : 'No files were imported.';
  return `Imported ${imported === 1 ? '1 image' : `${imported.toLocaleString()} images`}${rejected ? `; ${rejected} rejected` : ''}.`;
}
