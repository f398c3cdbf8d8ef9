// Bytes in and out of the gallery in the renderer: exported PNGs to Blobs (save as, copy image) and
// dropped files to base64 (import in browser mode).
import type { FileToImport } from '../../stores/gallery-import';

export function base64ToBlob(dataBase64: string, mimeType: string): Blob {
  const bin = atob(dataBase64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type: mimeType });
}

/** Downloads a URL through a hidden link (browser mode's one-time export downloads; saveBlob's object URLs). */
export function saveUrl(url: string, fileName: string): void {
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
}

/** Saves a Blob through the browser's download (Electron shows its save dialog). */
export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  saveUrl(url, fileName);
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

/** Puts a PNG on the clipboard (image/png is the one image type browsers accept there). */
export async function copyPngToClipboard(blob: Blob): Promise<void> {
  if (typeof ClipboardItem === 'undefined' || !navigator.clipboard?.write) {
    throw new Error('this window cannot put images on the clipboard');
  }
  const png = blob.type === 'image/png' ? blob : new Blob([await blob.arrayBuffer()], { type: 'image/png' });
  await navigator.clipboard.write([new ClipboardItem({ 'image/png': png })]);
}

/** A file or a slice of one as base64 (the bytes an API message carries). */
export function readBase64(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result);
      const comma = url.indexOf(',');
      resolve(comma < 0 ? '' : url.slice(comma + 1));
    };
    reader.onerror = () => reject(reader.error ?? new Error('read failed'));
    reader.readAsDataURL(file);
  });
}

/** Dropped files as import candidates: a real path when the platform gives one, else the bytes. */
export function filesToImport(list: FileList | readonly File[]): FileToImport[] {
  const out: FileToImport[] = [];
  for (const file of Array.from(list)) {
    // Electron: the preload's webUtils.getPathForFile (File.path is gone since Electron 32).
    const maybePath = window.studio?.pathForFile?.(file);
    const entry: FileToImport = { name: file.name, size: file.size, read: () => readBase64(file) };
    if (typeof maybePath === 'string' && maybePath !== '') entry.path = maybePath;
    out.push(entry);
  }
  return out;
}

/** Whether a drag carries files (not text or a link dragged inside the page). */
export function dragHasFiles(e: DragEvent): boolean {
  return !!e.dataTransfer && Array.from(e.dataTransfer.types).includes('Files');
}

/** The first words of a prompt, for names and captions. */
export function promptHead(prompt: string, words = 8): string {
  const text = prompt.replace(/\s+/g, ' ').trim();
  if (!text) return '';
  const parts = text.split(' ');
  return parts.length <= words ? text : `${parts.slice(0, words).join(' ')}…`;
}

export function itemName(item: { prompt: string; source: string; id: number }): string {
  return promptHead(item.prompt) || (item.source === 'imported' ? `Imported image ${item.id}` : `Image ${item.id}`);
}
