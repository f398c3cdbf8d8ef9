// THE progress bar of the CLI, drawn from THE progress shape (src-shared/progress.ts) for generation steps,
// downloads, verification and imports alike: a one-line bar on a TTY, plain lines (at most one a second, and
// the last one) otherwise. Everything goes to stderr.
import { formatBytes, formatRate } from '../../src-shared/bytes';
import { formatClock } from '../../src-shared/durations';
import { progressFraction, type Progress } from '../../src-shared/progress';

export interface ProgressBar {
  draw(p: Progress): void;
  /** Ends the bar's line (if one is open). */
  end(text?: string): void;
  /** A line of its own (ends the bar first). */
  note(line: string): void;
}

/** The text beside the bar: "step 3/28 · image 1/4 · 1.9 steps/s · ETA 0:12", "1.2 GB / 4.9 GB · 54.0 MiB/s · ETA 1:10". */
export function progressText(p: Progress): string {
  const parts: string[] = [];
  if (p.unit === 'bytes') parts.push(`${formatBytes(p.done)} / ${formatBytes(p.total)}`);
  else if (p.unit === 'steps') parts.push(`step ${p.done}/${p.total}`);
  else parts.push(`${p.done}/${p.total} files`);
  if (p.label) parts.push(p.label);
  if (p.status !== 'running') parts.push(p.status);
  if (p.rate !== null && p.status === 'running') parts.push(p.unit === 'bytes' ? formatRate(p.rate) : `${p.rate.toFixed(p.rate >= 10 ? 0 : 1)} ${p.unit}/s`);
  if (p.etaMs !== null && p.status === 'running') parts.push(`ETA ${formatClock(p.etaMs)}`);
  return parts.join(' · ');
}

export function createProgressBar(stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  const tty = stream.isTTY === true;
  let open = false;
  let lastPlain = 0;
  let lastText = '';
  const end = (text?: string) => {
    if (tty && open) stream.write(`\r\x1b[K${text ? `${text}\n` : ''}`);
    else if (text) stream.write(`${text}\n`);
    open = false;
  };
  return {
    draw(p) {
      const f = progressFraction(p);
      const text = progressText(p);
      if (tty) {
        const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - text.length - 12));
        const filled = Math.round(f * width);
        stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${text}\x1b[K`);
        open = true;
        return;
      }
      const now = Date.now();
      const last = p.status !== 'running' || (p.total > 0 && p.done >= p.total);
      if ((now - lastPlain >= 1000 || last) && text !== lastText) {
        lastPlain = now;
        lastText = text;
        stream.write(`${(f * 100).toFixed(0)}% ${text}\n`);
      }
    },
    end,
    note(line) {
      end();
      stream.write(`${line}\n`);
    },
  };
}
