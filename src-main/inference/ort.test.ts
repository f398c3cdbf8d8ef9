import { describe, expect, it } from 'vitest';
import { ort } from './ort';

describe('ort', () => {
  it('keeps float16 tensors as Uint16Array, which the native binding reads (Float16Array stays global)', () => {
    const t = new ort.Tensor('float16', new Uint16Array([0x3c00, 0x4000]), [2]);
    expect(t.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(t.data as Uint16Array)).toEqual([0x3c00, 0x4000]);
    if (Number(process.versions.node.split('.')[0]) >= 24) expect(typeof (globalThis as Record<string, unknown>).Float16Array).toBe('function');
  });
});
