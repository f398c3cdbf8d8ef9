// Download throughput: ModelService (resumable, sha256-verified, fsynced, state in SQLite) pulling
// a 1 GiB file from the hub emulator on 127.0.0.1, against `curl -sL URL | sha256sum` of the same
// URL in the same run. Figures and method, not pass/fail.
//
//   npx tsx scripts/bench/download.bench.ts [--bytes N] [--rounds R] [--work-dir DIR]
//
// --work-dir puts our models folder and curl's output file there (e.g. /dev/shm to take the disk
// out of the comparison; the default is the system temp folder).
//
// The emulator runs in a child process (this script with --serve), so our CPU time is ours alone;
// curl's CPU time is read from /proc/self/stat (cutime + cstime of the waited children).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { startHubEmulator } from '../../e2e/support/hub-emulator';
import { openDatabase } from '../../src-main/core/db';
import { ModelService } from '../../src-main/core/models/service';
import { cachedSd3Repo } from '../../src-main/testing/models/repo-fixture';

const REPO = 'bench/sd3-one-gb';
const BIG = 'unet/model.onnx.data';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

function argText(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}

async function serve(folder: string): Promise<void> {
  const hub = await startHubEmulator({ repos: { [REPO]: { folder } }, lfsThreshold: 1024 * 1024 });
  process.stdout.write(JSON.stringify({ endpoint: hub.endpoint, commit: hub.repoInfo(REPO).commit }) + '\n');
  process.stdin.resume();
  process.stdin.on('end', () => void hub.close().then(() => process.exit(0)));
}

/** CPU seconds of waited-for children (Linux), or undefined. */
function childrenCpuSeconds(): number | undefined {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the comm field: index 0 is state (field 3); cutime is field 16, cstime field 17.
    const cutime = Number(fields[13]);
    const cstime = Number(fields[14]);
    const tck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    return (cutime + cstime) / tck;
  } catch {
    return undefined;
  }
}

function hasCurl(): boolean {
  return spawnSync('sh', ['-c', 'command -v curl && command -v sha256sum'], { stdio: 'ignore' }).status === 0;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--serve') return serve(process.argv[3]!);
  const bytes = arg('--bytes', 1024 * 1024 * 1024);
  const rounds = arg('--rounds', 3);
  const workDir = path.resolve(argText('--work-dir', os.tmpdir()));
  const GiB = 1024 * 1024 * 1024;
  console.log(
    `Download benchmark: ${(bytes / GiB).toFixed(2)} GiB file, ${rounds} round(s), ${os.cpus().length} CPU(s), Node ${process.version}, ` +
      `load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
  );
  const t0 = Date.now();
  const folder = await cachedSd3Repo(`bench-${bytes}`, { layout: 'tensorstack', seed: 4242, transformerBytes: bytes, clipGBytes: 1024 * 1024, t5Bytes: 1024 * 1024 });
  console.log(`work folder (our models folder, curl's output file): ${workDir}`);
  console.log(`fixture repo ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (${folder})`);

  const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--serve', folder], { stdio: ['pipe', 'pipe', 'inherit'] });
  const first = await new Promise<string>((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
  });
  const { endpoint, commit } = JSON.parse(first) as { endpoint: string; commit: string };
  const url = `${endpoint}/${REPO}/resolve/${commit}/${BIG}`;
  const curl = hasCurl();
  const ours: { seconds: number; cpu: number; total: number }[] = [];
  const theirs: { seconds: number; cpu: number }[] = [];
  const toDisk: { seconds: number }[] = [];

  try {
    for (let round = 0; round < rounds; round++) {
      if (curl) {
        const cpuBefore = childrenCpuSeconds();
        const start = process.hrtime.bigint();
        const out = spawnSync('bash', ['-c', `set -o pipefail; curl -sL "${url}" | sha256sum`], { encoding: 'utf8' });
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        const cpuAfter = childrenCpuSeconds();
        if (out.status !== 0) throw new Error(`curl failed: ${out.stderr}`);
        theirs.push({ seconds, cpu: cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : NaN });
        console.log(`  curl | sha256sum   round ${round + 1}: ${seconds.toFixed(2)} s, ${(bytes / seconds / 1e6).toFixed(0)} MB/s`);
        // A second reference that also writes the file (and makes it durable), as a downloader must.
        const file = path.join(workDir, `sd35-bench-curl-${process.pid}.bin`);
        const start2 = process.hrtime.bigint();
        const out2 = spawnSync('bash', ['-c', `set -e; curl -sL -o "${file}" "${url}"; sha256sum "${file}" >/dev/null; sync "${file}"`], { encoding: 'utf8' });
        const seconds2 = Number(process.hrtime.bigint() - start2) / 1e9;
        fs.rmSync(file, { force: true });
        if (out2.status === 0) {
          toDisk.push({ seconds: seconds2 });
          console.log(`  curl -o; sha256sum; sync round ${round + 1}: ${seconds2.toFixed(2)} s, ${(bytes / seconds2 / 1e6).toFixed(0)} MB/s`);
        }
      }
      const root = fs.mkdtempSync(path.join(workDir, 'sd35-bench-dl-'));
      const env = { HF_ENDPOINT: endpoint, HF_HOME: path.join(root, 'hf') };
      const db = openDatabase(path.join(root, 'studio.db'));
      const service = new ModelService({
        db,
        modelsDir: path.join(root, 'models'),
        env,
        secrets: { description: 'none', warning: () => undefined, get: async () => undefined, set: async () => undefined, delete: async () => undefined },
      });
      try {
        const cpu0 = process.cpuUsage();
        const start = process.hrtime.bigint();
        const result = await (await service.download(REPO)).done;
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        const cpu = process.cpuUsage(cpu0);
        const total = result.files.reduce((s, f) => s + f.size, 0);
        ours.push({ seconds, cpu: (cpu.user + cpu.system) / 1e6, total });
        console.log(`  SD3.5 Studio       round ${round + 1}: ${seconds.toFixed(2)} s, ${(total / seconds / 1e6).toFixed(0)} MB/s (${result.files.length} files, verified)`);
      } finally {
        await service.close();
        db.close();
        fs.rmSync(root, { recursive: true, force: true });
      }
    }
  } finally {
    child.stdin!.end();
    child.kill();
  }

  const best = <T extends { seconds: number }>(xs: T[]) => xs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const median = (xs: { seconds: number }[]) => {
    const sorted = xs.map((x) => x.seconds).sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  const o = best(ours);
  const oursRate = o.total / o.seconds;
  console.log('');
  console.log('Method: the hub emulator (child process) serves the repo on 127.0.0.1; the 1 GiB file is an LFS file behind a');
  console.log('302 to the emulated CDN. Ours = ModelService.download: revision + tree, 3 files in parallel, Range-capable');
  console.log('streaming over node:http, sha256 on a worker thread from the written 4 MiB batches, fdatasync + SQLite');
  console.log('progress every 64 MiB in the background, rename into place.');
  console.log('curl = `curl -sL <resolve URL> | sha256sum` (no disk writes). Best round of each; files are in the page cache.');
  console.log(`SD3.5 Studio: ${(oursRate / 1e6).toFixed(0)} MB/s, CPU ${(o.cpu / (o.total / 1e9)).toFixed(2)} s per GB (${o.cpu.toFixed(2)} s total)`);
  if (curl && theirs.length > 0) {
    const c = best(theirs);
    const curlRate = bytes / c.seconds;
    console.log(`curl | sha256sum: ${(curlRate / 1e6).toFixed(0)} MB/s, CPU ${Number.isNaN(c.cpu) ? 'n/a' : `${(c.cpu / (bytes / 1e9)).toFixed(2)} s per GB`}`);
    console.log(`Ratio (ours / curl): ${(oursRate / curlRate).toFixed(2)}× best of each (goal ≥ 0.9×)`);
    const oursMedian = o.total / median(ours);
    const curlMedian = bytes / median(theirs);
    console.log(
      `Medians: ours ${(oursMedian / 1e6).toFixed(0)} MB/s, curl ${(curlMedian / 1e6).toFixed(0)} MB/s → ${(oursMedian / curlMedian).toFixed(2)}×`,
    );
    if (toDisk.length > 0) {
      const d = best(toDisk);
      const diskRate = bytes / d.seconds;
      console.log(`curl -o file; sha256sum file; sync: ${(diskRate / 1e6).toFixed(0)} MB/s → ratio ${(oursRate / diskRate).toFixed(2)}× against a reference that also writes`);
    }
    console.log(`Load average after the run: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (other work on this machine skews every figure)`);
  } else {
    console.log('curl or sha256sum is not installed: only our figure is printed.');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
