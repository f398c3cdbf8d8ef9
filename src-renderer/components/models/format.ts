// Small formatting helpers of the Models view.
import { formatBytes, formatRate } from '../../../src-shared/bytes';
import type { MemoryMode } from '../../../src-shared/generation';

export { formatBytes };

export { formatRate as formatSpeed };

export function percent(done: number, total: number): number {
  if (total <= 0) return 0;
  return Math.min(100, Math.max(0, Math.floor((done / total) * 1000) / 10));
}

export function shortCommit(commit: string | undefined): string {
  return commit ? commit.slice(0, 7) : '';
}

export function formatWhen(ms: number | undefined): string {
  if (ms === undefined) return '';
  const d = new Date(ms);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export { MEMORY_MODE_LABELS as MODE_LABEL } from '../../../src-shared/generation';
/** Memory use of the modes, most first. */
export const MODE_ORDER: Record<MemoryMode, number> = { fast: 2, balanced: 1, low: 0 };

/** The "Verified" line: when the files were last checked; an imported folder was never downloaded. */
export function verifiedText(installed: { verifiedAt?: number }, source: 'catalog' | 'hub' | 'import'): string {
  if (installed.verifiedAt) return formatWhen(installed.verifiedAt);
  return source === 'import' ? 'not yet (Verify checks the folder is complete)' : 'not since download';
}

/**
 * Splits text into plain runs and links. Only URLs in `allowed` (the ones the studio built itself,
 * e.g. the model page of the error's details) become links: any other URL in the text, such as one
 * in a message a Hub sent (X-Error-Message), stays plain text, so a hostile mirror cannot phish.
 */
export function linkify(text: string, allowed: readonly string[] = []): { text: string; href?: string }[] {
  const out: { text: string; href?: string }[] = [];
  const re = /https?:\/\/[^\s<>"')]+/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    let url = m[0];
    // Sentence punctuation after a URL is not part of it.
    const trail = /[.,;:!?]+$/.exec(url);
    if (trail) url = url.slice(0, -trail[0].length);
    if (m.index > last) out.push({ text: text.slice(last, m.index) });
    out.push(allowed.includes(url) ? { text: url, href: url } : { text: url });
    last = m.index + url.length;
    re.lastIndex = last;
  }
  if (last < text.length) out.push({ text: text.slice(last) });
  return out;
}
