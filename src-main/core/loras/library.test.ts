import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTestLora } from '../../testing/lora/lora-files';
import { LoraLibrary } from './library';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-lora-library-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('LoraLibrary', () => {
  it('imports, lists (hashes as A1111 and Civitai compute them, base, rank, metadata), renames and removes', () => {
    const src = path.join(tmp, 'My Style.safetensors');
    writeTestLora(src, 'diffusers', [{ module: 'transformer_blocks.3.attn.to_q', rank: 8, in: 1536, out: 1536, seed: 1 }, { module: 'transformer_blocks.3.attn2.to_q', rank: 8, in: 1536, out: 1536, seed: 2 }], {
      metadata: { 'modelspec.title': 'My style', ss_trigger_words: 'mystyle, painterly' },
    });
    const lib = new LoraLibrary(path.join(tmp, 'loras'));
    const entry = lib.import(src);
    const bytes = fs.readFileSync(src);
    // Independently: AutoV2 = sha256(file)[:10]; A1111 = sha256(bytes after the 8-byte length and the header)[:12].
    const n = Number(bytes.readBigUInt64LE(0));
    expect(entry.sha256).toBe(crypto.createHash('sha256').update(bytes).digest('hex'));
    expect(entry.autoV2).toBe(entry.sha256.slice(0, 10));
    expect(entry.a1111).toBe(crypto.createHash('sha256').update(bytes.subarray(8 + n)).digest('hex').slice(0, 12));
    expect(entry).toMatchObject({ name: 'My Style', base: 'sd3.5-medium', rank: 8, title: 'My style', triggerWords: ['mystyle', 'painterly'], bytes: bytes.length });
    expect(lib.list().map((e) => e.name)).toEqual(['My Style']);
    expect(lib.find(entry.a1111)?.name).toBe('My Style');
    expect(() => lib.import(src)).toThrow(/already in the library/u);
    expect(lib.rename('my style', 'Other').name).toBe('Other');
    expect(lib.remove('Other').sha256).toBe(entry.sha256);
    expect(lib.list()).toEqual([]);
  });

  it("uses the file's sshs_model_hash for the A1111 hash when it has one", () => {
    const src = path.join(tmp, 'kohya.safetensors');
    writeTestLora(src, 'kohya', [{ module: 'transformer_blocks.0.attn.to_out.0', rank: 4, in: 2432, out: 2432, seed: 3 }], { metadata: { sshs_model_hash: 'ABCDEF0123456789abcdef' } });
    const lib = new LoraLibrary(path.join(tmp, 'loras2'));
    expect(lib.import(src)).toMatchObject({ a1111: 'abcdef012345', base: 'sd3' });
  });

  it('refuses an unusable file with the reason and copies nothing', () => {
    const src = path.join(tmp, 'sdxl.safetensors');
    writeTestLora(src, 'diffusers', [], { extra: { 'lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_down.weight': { dtype: 'F32', shape: [1, 2048], data: new Float32Array(2048) }, 'lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_up.weight': { dtype: 'F32', shape: [640, 1], data: new Float32Array(640) } } });
    const lib = new LoraLibrary(path.join(tmp, 'loras3'));
    expect(() => lib.import(src)).toThrow(/for SDXL/u);
    expect(fs.existsSync(path.join(tmp, 'loras3', 'sdxl.safetensors'))).toBe(false);
  });

  it('links a file instead of copying it: used while unchanged, refused when changed or missing, remove keeps the file', () => {
    const src = path.join(tmp, 'outside', 'Linked One.safetensors');
    fs.mkdirSync(path.dirname(src), { recursive: true });
    writeTestLora(src, 'diffusers', [{ module: 'transformer_blocks.1.attn.to_k', rank: 4, in: 1536, out: 1536, seed: 7 }]);
    const original = fs.readFileSync(src);
    const dir = path.join(tmp, 'loras-link');
    const lib = new LoraLibrary(dir);
    const entry = lib.import(src, undefined, { link: true });
    expect(entry).toMatchObject({ name: 'Linked One', linked: true, file: fs.realpathSync(src), bytes: original.length });
    expect(entry.sha256).toBe(crypto.createHash('sha256').update(original).digest('hex'));
    // Nothing was copied into the library folder.
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors'))).toEqual([]);
    expect(lib.list().map((e) => [e.name, e.linked])).toEqual([['Linked One', true]]);
    expect(lib.find(entry.autoV2)?.name).toBe('Linked One');
    expect(lib.fileForUse(lib.find('linked one')!)).toBe(fs.realpathSync(src));
    // A name taken by a link is taken for a copy too.
    expect(() => lib.import(src)).toThrow(/already in the library/u);

    // Same size, one byte different in the tensor data: refused by hash.
    const changed = Buffer.from(original);
    changed.writeUInt8(changed.readUInt8(changed.length - 1) ^ 0xff, changed.length - 1);
    fs.writeFileSync(src, changed);
    expect(() => lib.fileForUse(lib.find('Linked One')!)).toThrow(/changed since it was imported/u);
    // Another size: refused too.
    fs.writeFileSync(src, Buffer.concat([original, Buffer.from([0])]));
    expect(() => lib.fileForUse(lib.find('Linked One')!)).toThrow(/changed since it was imported/u);
    // Restored: usable again.
    fs.writeFileSync(src, original);
    expect(lib.fileForUse(lib.find('Linked One')!)).toBe(fs.realpathSync(src));
    // Renamed: still the same link.
    expect(lib.rename('Linked One', 'Renamed')).toMatchObject({ name: 'Renamed', linked: true, sha256: entry.sha256 });
    // Missing: refused, naming the path.
    fs.renameSync(src, `${src}.moved`);
    expect(() => lib.fileForUse(lib.find('Renamed')!)).toThrow(/missing: .*Linked One\.safetensors/u);
    fs.renameSync(`${src}.moved`, src);
    // Remove forgets the entry and never deletes the user's file.
    expect(lib.remove('Renamed').linked).toBe(true);
    expect(lib.list()).toEqual([]);
    expect(fs.readFileSync(src).equals(original)).toBe(true);
  });

  it('refuses a relative path for a link, and a copied entry is its own file for use', () => {
    const lib = new LoraLibrary(path.join(tmp, 'loras-link2'));
    const src = path.join(tmp, 'rel.safetensors');
    writeTestLora(src, 'diffusers', [{ module: 'transformer_blocks.0.attn.to_q', rank: 4, in: 1536, out: 1536, seed: 9 }]);
    expect(() => lib.import(path.relative(process.cwd(), src), 'rel', { link: true })).toThrow(/absolute path/u);
    const copied = lib.import(src);
    expect(copied.linked).toBeUndefined();
    expect(lib.fileForUse(copied)).toBe(path.join(tmp, 'loras-link2', 'rel.safetensors'));
  });
});
