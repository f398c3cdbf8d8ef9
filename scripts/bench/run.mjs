#!/usr/bin/env node
// `npm run bench`: runs every benchmark in scripts/bench/*.bench.ts (with tsx) one after another
// and prints their figures. Figures and method, not pass/fail. `npm run bench -- NAME` runs one;
// everything from the first `--flag` on is passed to the benchmarks (`npm run bench -- real-scale --budget 24`).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(dir, '..', '..');
const args = process.argv.slice(2);
const firstFlag = args.findIndex((a) => a.startsWith('--'));
const only = firstFlag < 0 ? args : args.slice(0, firstFlag);
const forwarded = firstFlag < 0 ? [] : args.slice(firstFlag);
const benches = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
if (benches.length === 0) {
  console.log('No benchmarks found.');
  process.exit(0);
}
let failed = 0;
for (const file of benches) {
  console.log(`\n=== ${file} ===`);
  const r = spawnSync(path.join(root, 'node_modules', '.bin', 'tsx'), [path.join(dir, file), ...forwarded], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
