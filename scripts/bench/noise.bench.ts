// Noise benchmark: time of randn for the latent shapes SD3.5 uses (goal: 1×16×128×128 ≤ 10 ms on this machine).
// Run: npx tsx scripts/bench/noise.bench.ts [--runs N]
// Method: each shape is generated once to warm up the JIT, then N times with seeds 0…N−1; the script prints the
// median, the minimum and the 90th percentile in milliseconds, plus the split between the mt19937 draws and the
// Box–Muller transform for the 1024×1024 shape, and the very first call of the process (JIT not yet warm).
import { Mt19937, randn } from '../../src-main/inference/noise';

function argRuns(): number {
  const i = process.argv.indexOf('--runs');
  const n = i >= 0 ? Number(process.argv[i + 1]) : 50;
  return Number.isInteger(n) && n > 0 ? n : 50;
}

function stats(samples: number[]): { median: number; min: number; p90: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { median: at(0.5), min: s[0]!, p90: at(0.9) };
}

function time(fn: (i: number) => void, runs: number): number[] {
  fn(-1);
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

const runs = argRuns();
const coldStart = performance.now();
randn(0, [1, 16, 128, 128]);
const cold = performance.now() - coldStart;
const shapes: Array<[string, number[]]> = [
  ['512×512   (1×16×64×64)', [1, 16, 64, 64]],
  ['1024×1024 (1×16×128×128)', [1, 16, 128, 128]],
  ['1536×1536 (1×16×192×192)', [1, 16, 192, 192]],
  ['2048×2048 (1×16×256×256)', [1, 16, 256, 256]],
];
console.log(`first call in this process (cold JIT), 1×16×128×128: ${cold.toFixed(2)} ms`);
console.log(`randn timings over ${runs} runs (ms): median / min / p90`);
for (const [label, shape] of shapes) {
  const s = stats(time((i) => void randn(Math.max(0, i), shape), runs));
  console.log(`  ${label.padEnd(26)} ${s.median.toFixed(2)} / ${s.min.toFixed(2)} / ${s.p90.toFixed(2)}`);
}
const n = 16 * 128 * 128;
const buf = new Float32Array(n);
const draws = stats(time((i) => new Mt19937(Math.max(0, i)).fillFloatUniforms(buf, 0, n), runs));
console.log(`  of which mt19937 + uniforms for 1×16×128×128: median ${draws.median.toFixed(2)} ms`);
const goal = stats(time((i) => void randn(Math.max(0, i), [1, 16, 128, 128]), runs)).median;
console.log(`goal 1×16×128×128 ≤ 10 ms: ${goal <= 10 ? 'met' : 'NOT met'} (median ${goal.toFixed(2)} ms)`);
