// Progress on stderr: a one-line bar on a TTY, plain lines (at most one a second) otherwise.
import { formatBytes } from '../../src-shared/bytes';

export interface ProgressLine {
  update(fraction: number, text: string): void;
  done(text?: string): void;
}

export function createProgressLine(stream: NodeJS.WriteStream = process.stderr): ProgressLine {
  const tty = stream.isTTY === true;
  let lastPlain = 0;
  let lastText = '';
  return {
    update(fraction, text) {
      const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
      if (tty) {
        const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - text.length - 12));
        const filled = Math.round(f * width);
        stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${text}\x1b[K`);
      } else {
        const now = Date.now();
        if (now - lastPlain >= 1000 || f >= 1) {
          lastPlain = now;
          if (text !== lastText) stream.write(`${(f * 100).toFixed(0)}% ${text}\n`);
          lastText = text;
        }
      }
    },
    done(text) {
      if (tty) stream.write(`\r\x1b[K${text ? `${text}\n` : ''}`);
      else if (text) stream.write(`${text}\n`);
    },
  };
}

/** "12.3 MB/s": the same units as every other size (src-shared/bytes.ts). */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}
