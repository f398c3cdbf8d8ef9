// Parser benchmark: the speed figures the unit tests used to bound (they now check behaviour only).
// Run: npx tsx scripts/bench/parsers.bench.ts [--runs N]   (SD35_FIXTURES for the CLIP tokenizer files)
// Method: each case runs once to warm up, then N times (default 5); the script prints the median and the
// maximum in milliseconds. Cases: CLIP-encoding a 10,000-character prompt (Latin and Japanese; goal ≤ 3 s),
// A1111 parsing of hostile 8 MB texts (unclosed braces and quotes; goal ≤ 1 s each), a 2,000-field params
// line, and readPngInfo rejecting a 100,000×100,000 header and a zTXt bomb (goal ≤ 1 s).
import path from 'node:path';
import zlib from 'node:zlib';
import { fixturePath } from '../../e2e/support/fixtures';
import { encodePng, readPngInfo } from '../../src-main/formats/png';
import { ClipTokenizer } from '../../src-main/inference/tokenizers/clip';
import { parseA1111, parseA1111ParamsLine } from '../../src-shared/metadata';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg >= 0 ? Math.max(1, Number(process.argv[runsArg + 1]) || 5) : 5;

function time(name: string, fn: () => unknown): void {
  fn();
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)]!;
  console.log(`${name.padEnd(58)} median ${median.toFixed(1).padStart(8)} ms   max ${samples.at(-1)!.toFixed(1).padStart(8)} ms`);
}

function rejects(fn: () => unknown): void {
  try {
    fn();
  } catch {
    return;
  }
  throw new Error('expected a rejection');
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(Buffer.concat([Buffer.from(type, 'latin1'), data])), 0);
  return Buffer.concat([head, data, crc]);
}

async function main(): Promise<void> {
  const tokenizers = fixturePath('tokenizers', 'tokenizer');
  if (tokenizers) {
    const clip = await ClipTokenizer.load(path.resolve(tokenizers));
    time('CLIP encode, 10,000 characters (Latin)', () => clip.encode('a photo of a cat, '.repeat(600).slice(0, 10_000)));
    time('CLIP encode, 10,000 characters (Japanese)', () => clip.encode('日本語のプロンプト'.repeat(1200).slice(0, 10_000)));
  } else {
    console.log('CLIP encode: skipped (no tokenizers/ under SD35_FIXTURES)');
  }

  const params = 'Steps: 1, Sampler: a, CFG scale: 2';
  for (const [name, prompt] of [
    ['8 MB of "word, "', 'word, '.repeat(1_400_000)],
    ['8 MB of unclosed braces', 'k: {, '.repeat(1_400_000)],
    ['7 MB of unclosed quotes', 'k: "x, '.repeat(1_200_000)],
  ] as const) {
    time(`parseA1111, ${name} + a params line`, () => parseA1111(`${prompt}\n${params}`));
  }
  time('parseA1111ParamsLine, 2,000 hostile fields', () => parseA1111ParamsLine('k: {, '.repeat(40_000) + 'k: "x, '.repeat(40_000)));

  const good = encodePng({ width: 8, height: 8, channels: 3, data: new Uint8Array(8 * 8 * 3) }, []);
  const huge = Buffer.from(good);
  huge.writeUInt32BE(100_000, 16);
  huge.writeUInt32BE(100_000, 20);
  huge.writeUInt32BE(zlib.crc32(huge.subarray(12, 29)), 29);
  time('readPngInfo rejects a 100,000×100,000 header', () => rejects(() => readPngInfo(huge)));
  const bomb = chunk('zTXt', Buffer.concat([Buffer.from('parameters\0\0', 'latin1'), zlib.deflateSync(Buffer.alloc(100 * 1024 * 1024, 0x61))]));
  const withBomb = Buffer.concat([good.subarray(0, 33), bomb, good.subarray(33)]);
  time('readPngInfo rejects a zTXt inflating to 100 MB', () => rejects(() => readPngInfo(withBomb)));
}

void main();
