// Test repos for the model manager: SD3-shaped folders (either layout) whose weights are bytes
// from a seeded PRNG, streamed to disk under /tmp, with small but well-formed ONNX graphs that
// point at their external data. Built once per key and reused across test files.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const FIXTURE_ROOT = path.join(os.tmpdir(), 'sd35-models-fixtures');

/** splitmix32: a tiny seeded PRNG. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Writes `size` seeded random bytes to `file`, 1 MiB at a time. */
export async function writeSeededFile(file: string, size: number, seed: number): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const next = prng(seed);
  const fh = await fs.promises.open(file, 'w');
  try {
    const block = 1024 * 1024;
    const buf = Buffer.alloc(block);
    const words = new Uint32Array(buf.buffer, buf.byteOffset, block / 4);
    for (let written = 0; written < size; ) {
      for (let i = 0; i < words.length; i++) words[i] = next();
      const n = Math.min(block, size - written);
      await fh.write(buf, 0, n, written);
      written += n;
    }
  } finally {
    await fh.close();
  }
}

// ---- a minimal protobuf writer for ONNX ModelProto --------------------------------------------

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

function fieldVarint(field: number, value: number): Buffer {
  return Buffer.concat([varint(field * 8), varint(value)]);
}

function fieldBytes(field: number, value: Buffer | string): Buffer {
  const b = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([varint(field * 8 + 2), varint(b.length), b]);
}

/**
 * A ModelProto with one float16 initializer: stored in `external.location` (ONNX external data)
 * when given, else inline (raw_data of `inlineBytes` bytes).
 */
export function onnxModel(o: { external?: { location: string; length: number }; inlineBytes?: number; name?: string }): Buffer {
  const tensorFields: Buffer[] = [fieldVarint(2, 10), fieldBytes(8, o.name ?? 'weight')];
  if (o.external) {
    tensorFields.unshift(fieldVarint(1, Math.floor(o.external.length / 2)));
    const entry = (k: string, v: string) => fieldBytes(13, Buffer.concat([fieldBytes(1, k), fieldBytes(2, v)]));
    tensorFields.push(entry('location', o.external.location), entry('offset', '0'), entry('length', String(o.external.length)), fieldVarint(14, 1));
  } else {
    const n = o.inlineBytes ?? 16;
    tensorFields.unshift(fieldVarint(1, Math.floor(n / 2)));
    tensorFields.push(fieldBytes(9, Buffer.alloc(n, 7)));
  }
  const graph = Buffer.concat([fieldBytes(2, 'graph'), fieldBytes(5, Buffer.concat(tensorFields))]);
  return Buffer.concat([
    fieldVarint(1, 8),
    fieldBytes(2, 'sd35-studio-tests'),
    fieldBytes(7, graph),
    fieldBytes(8, Buffer.concat([fieldBytes(1, ''), fieldVarint(2, 17)])),
  ]);
}

// ---- SD3-shaped repos --------------------------------------------------------------------------

export interface RepoSpec {
  layout: 'tensorstack' | 'optimum';
  seed: number;
  /** Bytes of the transformer's external data (the big file). */
  transformerBytes: number;
  t5Bytes?: number;
  clipGBytes?: number;
  /** Without text_encoder_3/ and tokenizer_3/. */
  noT5?: boolean;
  /** Add the clutter real repos carry (samples, a stray folder, README; and vae_encoder, which a download takes). */
  clutter?: boolean;
}

/** Writes the repo; returns its file paths (repo-relative). */
export async function writeSd3Repo(dir: string, spec: RepoSpec): Promise<string[]> {
  const ext = spec.layout === 'optimum' ? 'model.onnx_data' : 'model.onnx.data';
  const transformer = spec.layout === 'optimum' ? 'transformer' : 'unet';
  const files: string[] = [];
  const text = async (rel: string, content: string) => {
    const abs = path.join(dir, rel);
    await fs.promises.mkdir(path.dirname(abs), { recursive: true });
    await fs.promises.writeFile(abs, content);
    files.push(rel);
  };
  const component = async (folder: string, bytes: number | undefined, seedOffset: number) => {
    if (bytes && bytes > 0) {
      await writeSeededFile(path.join(dir, folder, ext), bytes, spec.seed + seedOffset);
      files.push(`${folder}/${ext}`);
      await bin(`${folder}/model.onnx`, onnxModel({ external: { location: ext, length: bytes }, name: `${folder}.weight` }));
    } else {
      await bin(`${folder}/model.onnx`, onnxModel({ inlineBytes: 64, name: `${folder}.weight` }));
    }
    await text(`${folder}/config.json`, JSON.stringify({ component: folder }) + '\n');
  };
  const bin = async (rel: string, content: Buffer) => {
    const abs = path.join(dir, rel);
    await fs.promises.mkdir(path.dirname(abs), { recursive: true });
    await fs.promises.writeFile(abs, content);
    files.push(rel);
  };
  await text('model_index.json', JSON.stringify({ _class_name: 'StableDiffusion3Pipeline' }) + '\n');
  await text('scheduler/scheduler_config.json', JSON.stringify({ _class_name: 'FlowMatchEulerDiscreteScheduler', shift: 3.0 }) + '\n');
  for (const tok of ['tokenizer', 'tokenizer_2']) {
    await text(`${tok}/vocab.json`, JSON.stringify({ '<|startoftext|>': 49406, '<|endoftext|>': 49407 }));
    await text(`${tok}/merges.txt`, '#version: 0.2\nt h\n');
    await text(`${tok}/special_tokens_map.json`, '{"pad_token":"<|endoftext|>"}');
    await text(`${tok}/tokenizer_config.json`, '{}');
  }
  await component('text_encoder', undefined, 1);
  await component('text_encoder_2', spec.clipGBytes ?? 2 * 1024 * 1024, 2);
  if (!spec.noT5) {
    await text('tokenizer_3/tokenizer.json', '{"model":{"type":"Unigram"}}');
    await text('tokenizer_3/special_tokens_map.json', '{"eos_token":"</s>"}');
    await component('text_encoder_3', spec.t5Bytes ?? 3 * 1024 * 1024, 3);
  }
  await component(transformer, spec.transformerBytes, 4);
  await component('vae_decoder', undefined, 5);
  if (spec.clutter) {
    await writeSeededFile(path.join(dir, 'Sample.png'), 1536 * 1024, spec.seed + 6);
    files.push('Sample.png');
    await text('README.md', '# test repo\n');
    await component('vae_encoder', undefined, 7);
    await bin('vae copy/model.onnx', onnxModel({ inlineBytes: 32 }));
    await bin('tokenizer/model.onnx', onnxModel({ inlineBytes: 32 }));
  }
  return files.sort();
}

/** Builds `spec` once under FIXTURE_ROOT/<key> (a marker beside it says it is complete). */
export async function cachedSd3Repo(key: string, spec: RepoSpec): Promise<string> {
  const dir = path.join(FIXTURE_ROOT, key);
  const marker = path.join(FIXTURE_ROOT, `${key}.complete`);
  const want = JSON.stringify(spec);
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === want) return dir;
  await fs.promises.rm(dir, { recursive: true, force: true });
  await writeSd3Repo(dir, spec);
  await fs.promises.writeFile(marker, want);
  return dir;
}

/** A fresh temporary folder under /tmp. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `sd35-${prefix}-`));
}

/** Every file under `dir` whose bytes contain `needle`. */
export async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  const bytes = Buffer.from(needle);
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) {
        // Read whole files (test data is small apart from weights, which are scanned in blocks).
        const fh = await fs.promises.open(p, 'r');
        try {
          const block = Buffer.alloc(4 * 1024 * 1024 + bytes.length);
          let pos = 0;
          for (;;) {
            const { bytesRead } = await fh.read(block, 0, block.length, pos);
            if (bytesRead === 0) break;
            if (block.subarray(0, bytesRead).includes(bytes)) {
              hits.push(p);
              break;
            }
            if (bytesRead < block.length) break;
            pos += bytesRead - bytes.length;
          }
        } finally {
          await fh.close();
        }
      }
    }
  }
  return hits;
}
