import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { float32ToFloat16 } from '../formats/float16';
import { SafetensorsFile, encodeSafetensors } from './safetensors';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-safetensors-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A file from a header object and a data section, written by hand (so it can lie). */
function handMade(name: string, header: unknown, data: Buffer, declaredLength?: bigint): string {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(declaredLength ?? BigInt(json.length));
  const file = path.join(tmp, name);
  fs.writeFileSync(file, Buffer.concat([len, json, data]));
  return file;
}

describe('SafetensorsFile', () => {
  it('reads F32, F16 and BF16 tensors and the __metadata__', () => {
    const values = Float32Array.from([1.5, -2, 0.25, 65504]);
    const bf16 = new Uint16Array(new Uint32Array(values.buffer).map((b) => b >>> 16));
    const file = path.join(tmp, 'ok.safetensors');
    fs.writeFileSync(
      file,
      Buffer.concat([
        encodeSafetensors(
          { a: { dtype: 'F32', shape: [2, 2], data: values }, b: { dtype: 'F16', shape: [4], data: float32ToFloat16(values) } },
          { ss_output_name: 'test' },
        ),
      ]),
    );
    const f = SafetensorsFile.open(file);
    expect(f.names.sort()).toEqual(['a', 'b']);
    expect(f.metadata).toEqual({ ss_output_name: 'test' });
    expect(Array.from(f.readFloat32('a'))).toEqual([1.5, -2, 0.25, 65504]);
    expect(Array.from(f.readFloat32('b'))).toEqual([1.5, -2, 0.25, 65504]);
    f.close();
    // BF16: the top half of each float32 (these values are exact in bfloat16 except 65504 → 65280).
    const header = { c: { dtype: 'BF16', shape: [4], data_offsets: [0, 8] } };
    const g = SafetensorsFile.open(handMade('bf16.safetensors', header, Buffer.from(bf16.buffer)));
    expect(Array.from(g.readFloat32('c'))).toEqual([1.5, -2, 0.25, 65280]);
    g.close();
  });

  const hostile: [string, () => string, RegExp][] = [
    ['header length past the end', () => handMade('h1', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(4), 10_000n), /claims 10000 bytes but the file has/u],
    ['10 GB declared header', () => handMade('h2', {}, Buffer.alloc(0), 10_000_000_000n), /claims 10000000000 bytes \(at most 100000000\)/u],
    ['tensor outside the file (10 GB declared)', () => handMade('h3', { a: { dtype: 'F32', shape: [2_500_000_000], data_offsets: [0, 10_000_000_000] } }, Buffer.alloc(16)), /tensor a lies outside the file/u],
    ['truncated data', () => handMade('h4', { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, Buffer.alloc(8)), /lies outside the file/u],
    ['overlapping offsets', () => handMade('h5', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, Buffer.alloc(12)), /tensors a and b overlap/u],
    ['overlap hidden behind an empty tensor', () => handMade('h5b', { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, e: { dtype: 'F32', shape: [0], data_offsets: [8, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [12, 16] } }, Buffer.alloc(16)), /tensors a and b overlap/u],
    ['size not matching the shape', () => handMade('h6', { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, Buffer.alloc(8)), /declares \[3\] F32 but holds 8 bytes/u],
    ['unsupported dtype', () => handMade('h7', { a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, Buffer.alloc(8)), /dtype I64/u],
    ['header not JSON', () => {
      const file = path.join(tmp, 'h8');
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(5n);
      fs.writeFileSync(file, Buffer.concat([len, Buffer.from('{nope')]));
      return file;
    }, /not valid JSON/u],
    ['shorter than 8 bytes', () => {
      const file = path.join(tmp, 'h9');
      fs.writeFileSync(file, Buffer.alloc(3));
      return file;
    }, /3 bytes/u],
    ['negative offsets', () => handMade('h10', { a: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, Buffer.alloc(4)), /invalid data_offsets/u],
  ];
  for (const [what, make, reason] of hostile) {
    it(`refuses a hostile file without allocating beyond its size: ${what}`, () => {
      const file = make();
      const size = fs.statSync(file).size;
      const alloc = vi.spyOn(Buffer, 'alloc');
      try {
        expect(() => SafetensorsFile.open(file, 'x.safetensors')).toThrow(reason);
        for (const call of alloc.mock.calls) expect(call[0] as number).toBeLessThanOrEqual(Math.max(size, 8));
      } finally {
        alloc.mockRestore();
      }
    });
  }
});
