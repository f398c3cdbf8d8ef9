// The import limits live once, here; the contract's base64 limit is the browser limit's encoding.
import { describe, expect, it } from 'vitest';
import { formatBytes } from '../bytes';
import { MAX_BROWSER_IMPORT_BYTES, MAX_IMPORT_BYTES, importFileSchema } from './gallery';

describe('import limits', () => {
  it('a browser import of exactly MAX_BROWSER_IMPORT_BYTES passes the contract; 3 bytes more do not', () => {
    const b64 = (n: number) => 'A'.repeat(Math.ceil(n / 3) * 4);
    expect(importFileSchema.safeParse({ name: 'a.png', dataBase64: b64(MAX_BROWSER_IMPORT_BYTES) }).success).toBe(true);
    expect(importFileSchema.safeParse({ name: 'a.png', dataBase64: b64(MAX_BROWSER_IMPORT_BYTES + 3) }).success).toBe(false);
  });

  it('reads as round numbers in the one unit convention', () => {
    expect(formatBytes(MAX_IMPORT_BYTES)).toBe('200 MB');
    expect(formatBytes(MAX_BROWSER_IMPORT_BYTES)).toBe('10.0 MB');
  });
});
