import { describe, expect, it } from 'vitest';
import { formatBytes } from './bytes';

describe('formatBytes', () => {
  it('uses decimal units as Hugging Face does, with three significant digits', () => {
    expect(formatBytes(4.94e9)).toBe('4.94 GB');
    expect(formatBytes(246e6)).toBe('246 MB');
    expect(formatBytes(999)).toBe('999 bytes');
    expect(formatBytes(1)).toBe('1 byte');
    expect(formatBytes(16.5e9)).toBe('16.5 GB');
    expect(formatBytes(1536)).toBe('1.54 kB');
    expect(formatBytes(200e6)).toBe('200 MB');
  });
});
