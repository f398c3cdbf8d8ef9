// Before the download: the graphs are fetched and verified first, checked against this
// machine's providers, and the verdict is shown before the large files start — against the hub
// emulator serving the olive flavor of the tiny model, its standard twin, and a graph with an op that
// has no kernel here and no rewrite.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubEmulator, type HubEmulator } from '../../../e2e/support/hub-emulator';
import { writeBlockedTinyModel, writeTinyModel } from '../../../e2e/support/tiny-model';
import { checkModelOps } from '../../inference/available';
import { rejection } from '../../testing/errors';
import { makeHarness, type Harness } from '../../testing/models/harness';
import { tempDir } from '../../testing/models/repo-fixture';

let hub: HubEmulator;
let root: string;
const cleanup: Harness[] = [];

beforeAll(async () => {
  root = tempDir('verdict');
  const olive = path.join(root, 'olive');
  const twin = path.join(root, 'twin');
  const blocked = path.join(root, 'blocked');
  await writeTinyModel(olive, { layout: 'tensorstack', io: 'fp16', size: 'micro', flavor: 'olive' });
  await writeTinyModel(twin, { layout: 'optimum', io: 'fp32', size: 'micro', flavor: 'olive-twin' });
  await writeBlockedTinyModel(blocked);
  // A mirror's damaged graph (its hash is the mirror's own, so it verifies): issue 18 §4.
  const damaged = path.join(root, 'damaged');
  fs.cpSync(twin, damaged, { recursive: true });
  fs.writeFileSync(path.join(damaged, 'vae_decoder', 'model.onnx'), Buffer.from('<html>502 Bad Gateway</html>'.repeat(8)));
  // The big files are LFS (1 kB threshold): they come from the CDN after the graphs.
  hub = await startHubEmulator({ repos: { 'acme/olive': { folder: olive }, 'acme/twin': { folder: twin }, 'acme/blocked': { folder: blocked }, 'acme/damaged': { folder: damaged } }, lfsThreshold: 1024 });
}, 60_000);

afterAll(async () => {
  for (const h of cleanup) await h.close();
  await hub?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

function harness(): Harness {
  const h = makeHarness({ endpoint: hub.endpoint, checkOps: (graphs) => checkModelOps(graphs, { cacheDir: path.join(root, 'op-probes') }) });
  cleanup.push(h);
  return h;
}

const isGraph = (p: string) => /(^|\/)model\.onnx$/.test(p);

describe('the pre-download verdict', () => {
  it('olive flavor: "runs here on the CPU with 4 operators rewritten", told before any large file, and the download completes', async () => {
    const h = harness();
    const handle = await h.service.download('acme/olive');
    const result = await handle.done;
    const verdictAt = h.events.findIndex((e) => e.type === 'download-verdict');
    expect(verdictAt).toBeGreaterThan(-1);
    const verdict = h.events[verdictAt]!;
    expect(verdict).toMatchObject({
      type: 'download-verdict',
      verdict: {
        verdict: 'rewrites',
        provider: 'cpu',
        rewritten: ['com.microsoft.BiasAdd', 'com.microsoft.BiasSplitGelu', 'com.microsoft.GroupNorm', 'com.microsoft.NhwcConv'],
        blocked: [],
      },
    });
    expect((verdict as { verdict: { text: string } }).verdict.text).toMatch(/^runs here on the CPU with 4 operators rewritten/);
    // Every graph was verified before the verdict, every other file after it.
    const verified = h.events.map((e, i) => ({ e, i })).filter(({ e }) => e.type === 'file-verified') as { e: { path: string }; i: number }[];
    for (const { e, i } of verified) expect(i < verdictAt, e.path).toBe(isGraph(e.path));
    expect(verified.filter(({ e }) => isGraph(e.path))).toHaveLength(5);
    expect(result.files.some((f) => f.path === 'unet/model.onnx.data')).toBe(true);
    expect((await h.service.get('acme/olive')).portability?.verdict).toBe('rewrites');
    // One progress for the whole set across both phases: the total never changes, done never goes back.
    const progress = h.events.flatMap((e) => (e.type === 'download-progress' ? [e.progress] : []));
    const total = result.files.reduce((sum, f) => sum + f.size, 0);
    expect(progress.length).toBeGreaterThan(1);
    expect(new Set(progress.map((p) => p.total))).toEqual(new Set([total]));
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.done).toBeGreaterThanOrEqual(progress[i - 1]!.done);
  });

  it('standard twin: "runs here on the CPU"', async () => {
    const h = harness();
    await (await h.service.download('acme/twin')).done;
    const entry = await h.service.get('acme/twin');
    expect(entry.portability).toEqual({ verdict: 'runs', provider: 'cpu', text: 'runs here on the CPU', rewritten: [], blocked: [] });
  });

  it('an op nothing covers: "cannot run here: …", a precise error, and nothing large downloaded', async () => {
    const h = harness();
    hub.resetStats();
    const handle = await h.service.download('acme/blocked');
    const err = await rejection(handle.done);
    expect(err.code).toBe('unavailable');
    expect(err.message).toContain('cannot run here: com.microsoft.GatedRelativePositionBias has no kernel on the CPU and no rewrite (in vae_decoder/model.onnx)');
    expect(err.details).toMatchObject({ op: 'com.microsoft.GatedRelativePositionBias', file: 'vae_decoder/model.onnx', provider: 'cpu' });
    const verified = h.events.filter((e) => e.type === 'file-verified') as { path: string }[];
    expect(verified.length).toBeGreaterThan(0);
    expect(verified.every((e) => isGraph(e.path))).toBe(true);
    // No external-data file was fetched.
    expect(hub.bytesServed('acme/blocked', 'unet/model.onnx.data')).toBe(0);
    expect(hub.stats.requests.filter((r) => /\/resolve\//.test(r.path) && !isGraph(r.path)).map((r) => r.path)).toEqual([]);
    expect((await h.service.get('acme/blocked')).portability?.verdict).toBe('blocked');
  });

  it('a damaged graph from a mirror is verification_failed, naming the file, before any large file', async () => {
    const h = harness();
    const handle = await h.service.download('acme/damaged');
    const err = await rejection(handle.done);
    expect(err.code).toBe('verification_failed');
    expect(err.message).toContain('vae_decoder/model.onnx is not a usable ONNX graph');
  });
});
