import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../testing/temp';
import { createFileLogger, redact } from './log';

afterAll(removeTempDirs);

describe('logger', () => {
  it('scrubs tokens from every line', () => {
    expect(redact('token hf_abcdefghijklmnopqrstuvwxyz used')).toBe('token [redacted] used');
    expect(redact('Authorization: Bearer secret123')).toBe('Authorization: Bearer [redacted]');
    expect(redact('http://127.0.0.1:1/#token=abcdef&x=1')).toBe('http://127.0.0.1:1/#token=[redacted]&x=1');
    expect(redact('my custom secret value', ['custom secret'])).toBe('my [redacted] value');
  });

  it('writes to logs/studio.log and rotates, keeping a bounded number of files', () => {
    const dir = tempDir();
    const log = createFileLogger(dir, { maxBytes: 400, keep: 3 });
    for (let i = 0; i < 40; i++) log.info(`line ${i}`, { hf: 'hf_ABCDEFGHIJKLMNOP' });
    const files = fs.readdirSync(dir).sort();
    expect(files).toEqual(['studio.log', 'studio.log.1', 'studio.log.2']);
    const all = files.map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('');
    expect(all).toContain('line 39');
    expect(all).not.toContain('hf_ABCDEFGHIJKLMNOP');
    log.debug('not at info level');
    expect(fs.readFileSync(path.join(dir, 'studio.log'), 'utf8')).not.toContain('not at info level');
  });
});
