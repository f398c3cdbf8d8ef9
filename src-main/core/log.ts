// A small rotating file logger under <data>/logs: studio.log, rotated at 2 MB, 5 files kept.
// Secrets are scrubbed from every line (Hugging Face tokens, Bearer headers); prompts are not logged
// at info level by callers.
import fs from 'node:fs';
import path from 'node:path';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string, data?: Record<string, unknown>): void;
  info(msg: string, data?: Record<string, unknown>): void;
  warn(msg: string, data?: Record<string, unknown>): void;
  error(msg: string, data?: Record<string, unknown>): void;
  readonly file: string | undefined;
}

const TOKEN_PATTERNS: RegExp[] = [/hf_[A-Za-z0-9]{8,}/g, /(Bearer\s+)[^\s"']+/gi, /(token=)[^&\s"']+/gi];

export function redact(text: string, extraSecrets: readonly string[] = []): string {
  let out = text;
  for (const secret of extraSecrets) if (secret.length >= 6) out = out.split(secret).join('[redacted]');
  out = out.replace(TOKEN_PATTERNS[0]!, '[redacted]');
  out = out.replace(TOKEN_PATTERNS[1]!, '$1[redacted]');
  out = out.replace(TOKEN_PATTERNS[2]!, '$1[redacted]');
  return out;
}

export interface FileLoggerOptions {
  maxBytes?: number;
  keep?: number;
  level?: LogLevel;
  echo?: (line: string) => void;
  secrets?: () => readonly string[];
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createFileLogger(dir: string, options: FileLoggerOptions = {}): Logger {
  const maxBytes = options.maxBytes ?? 2 * 1024 * 1024;
  const keep = options.keep ?? 5;
  const minLevel = ORDER[options.level ?? 'info'];
  const file = path.join(dir, 'studio.log');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  let size = fs.existsSync(file) ? fs.statSync(file).size : 0;

  const rotate = () => {
    for (let i = keep - 1; i >= 1; i--) {
      const from = i === 1 ? file : `${file}.${i - 1}`;
      if (fs.existsSync(from)) fs.renameSync(from, `${file}.${i}`);
    }
    size = 0;
  };

  const write = (level: LogLevel, msg: string, data?: Record<string, unknown>) => {
    if (ORDER[level] < minLevel) return;
    let line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} [${process.pid}] ${msg}`;
    if (data && Object.keys(data).length) {
      try {
        line += ` ${JSON.stringify(data)}`;
      } catch {
        line += ' [unserializable data]';
      }
    }
    line = redact(line, options.secrets?.() ?? []) + '\n';
    try {
      if (size + line.length > maxBytes) rotate();
      fs.appendFileSync(file, line, { mode: 0o600 });
      size += Buffer.byteLength(line);
    } catch {
      // logging must never take the app down (disk full, folder removed)
    }
    options.echo?.(line);
  };

  return {
    file,
    debug: (m, d) => write('debug', m, d),
    info: (m, d) => write('info', m, d),
    warn: (m, d) => write('warn', m, d),
    error: (m, d) => write('error', m, d),
  };
}

export const nullLogger: Logger = { file: undefined, debug() {}, info() {}, warn() {}, error() {} };
