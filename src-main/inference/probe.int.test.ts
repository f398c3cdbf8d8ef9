// The provider check in its own process (out/main/probe.js) with the real onnxruntime-node, through both
// spawners: the CPU starts; a provider whose library is absent (CUDA here: ONNXRUNTIME_NODE_INSTALL=skip)
// is reported not installed with the library and the next step.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { forkSpawner } from '../core/node-adapters';
import { createUtilitySpawner } from '../electron/utility-worker';
import { FakeElectronApp } from '../testing/fake-utility-process';
import { REPO } from '../testing/processes';
import { removeTempDirs, tempDir } from '../testing/temp';
import { runProviderProbe } from './probe-host';
import { supportedBackends } from './ep-plan';

const ENTRY = path.join(REPO, 'out', 'main', 'probe.js');

describe.each([
  { name: 'child_process.fork', spawner: () => forkSpawner },
  { name: 'utilityProcess (fake)', spawner: () => createUtilitySpawner(new FakeElectronApp().deps()) },
])('the provider check over $name', ({ spawner }) => {
  it('reports what starts here, and why a provider does not', async () => {
    expect(fs.existsSync(ENTRY), 'built by the integration global setup').toBe(true);
    const statuses = await runProviderProbe(spawner(), { entry: ENTRY, timeoutMs: 30_000 });
    expect(statuses[0]).toEqual({ name: 'cpu', status: 'loaded' });
    const cuda = statuses.find((s) => s.name === 'cuda');
    const listed = supportedBackends().find((b) => b.name === 'cuda');
    if (process.platform === 'linux' && listed && listed.installed === false) {
      expect(cuda).toMatchObject({ status: 'not-installed', missingLibrary: 'libonnxruntime_providers_cuda.so', nextStep: expect.stringMatching(/CUDA build/) });
    }
    console.log(`providers here: ${statuses.map((s) => `${s.name} ${s.status}${s.missingLibrary ? ` (missing ${s.missingLibrary})` : ''}`).join(', ')}`);
  });
});

afterAll(() => removeTempDirs());

describe('a provider check that fails', () => {
  it('reports the failure instead of hanging or throwing', async () => {
    const crash = path.join(tempDir('sd35-probe-'), 'crash.js');
    fs.writeFileSync(crash, 'process.exit(3);\n');
    const statuses = await runProviderProbe(forkSpawner, { entry: crash, timeoutMs: 10_000 });
    expect(statuses).toEqual([{ name: 'cpu', status: 'failed', error: 'The execution-provider check stopped: it exited with code 3.' }]);
    expect(await runProviderProbe(forkSpawner, { entry: '/no/such/probe.js' })).toEqual([
      { name: 'cpu', status: 'failed', error: 'The execution-provider check is missing (/no/such/probe.js).' },
    ]);
  });
});
