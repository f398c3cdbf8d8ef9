// The built renderer's files (out/renderer), for the studio://app protocol and browser mode.
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../src-shared/errors';
import { assertInside } from '../core/paths';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.map': 'application/json',
};

export async function resolveStatic(rootDir: string, urlPath: string): Promise<{ path: string; contentType: string }> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    throw new StudioError('not_found', 'Not found');
  }
  if (decoded.includes('\0')) throw new StudioError('not_found', 'Not found');
  const rel = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '');
  const candidate = path.resolve(rootDir, rel);
  const real = assertInside(rootDir, candidate);
  const stat = await fs.promises.stat(real);
  if (!stat.isFile()) throw new StudioError('not_found', 'Not found');
  return { path: real, contentType: TYPES[path.extname(real).toLowerCase()] ?? 'application/octet-stream' };
}
