// The Hub client and the service's auth handling against the emulator: the protocol (revision,
// renamed repos, paginated trees), every error told apart by X-Error-Code with the right code and
// message, the token order, and the token never reaching the CDN, the data folder or a message.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startHubEmulator, type HubEmulator } from '../../../e2e/support/hub-emulator';
import type { SecretStore } from '../adapters';
import { HubClient } from './hub';
import { makeHarness, type Harness } from '../../testing/models/harness';
import { cachedSd3Repo, filesContaining, tempDir } from '../../testing/models/repo-fixture';
import { rejection } from '../../testing/errors';

const MiB = 1024 * 1024;
const OPEN = 'acme/sd3-open';
const GATED = 'acme/sd3-gated';
const AUTO = 'acme/sd3-auto';
const PRIVATE = 'acme/sd3-private';
const GOOD = 'hf_GoodToken4xYzSecretValue';
const NO_ACCESS = 'hf_NoAccessTokenSecretValue';

let hub: HubEmulator;
const harnesses: Harness[] = [];

function harness(env: NodeJS.ProcessEnv = {}, root?: string): Harness {
  const h = makeHarness({ endpoint: hub.endpoint, env, ...(root ? { root } : {}) });
  harnesses.push(h);
  return h;
}


beforeAll(async () => {
  const folder = await cachedSd3Repo('hub-3m', { layout: 'optimum', seed: 404, transformerBytes: 3 * MiB });
  hub = await startHubEmulator({
    repos: {
      [OPEN]: { folder },
      [GATED]: { folder, gated: 'licence' },
      [AUTO]: { folder, gated: 'token' },
      [PRIVATE]: { folder, private: true },
    },
    tokens: { [GOOD]: [GATED, PRIVATE], [NO_ACCESS]: [] },
    renamed: { 'acme/old-name': OPEN },
    lfsThreshold: MiB,
    treePageSize: 5,
  });
}, 60_000);

afterEach(async () => {
  while (harnesses.length) await harnesses.pop()!.close();
  hub.resetStats();
});

afterAll(async () => {
  await hub?.close();
});

describe('HubClient', () => {
  const client = () => new HubClient({ endpoint: hub.endpoint, userAgent: 'sd35-studio-tests/1' });

  it('pins a revision to its commit, following a renamed repo', async () => {
    const info = await client().revision('acme/old-name', 'main');
    expect(info).toEqual({ repo: OPEN, commit: hub.repoInfo(OPEN).commit, gated: false, private: false });
    expect((await client().revision(GATED, 'main')).gated).toBe('manual');
    expect((await client().revision(AUTO, 'main')).gated).toBe('auto');
  });

  it('lists the whole tree across Link pages, with LFS sha256 for LFS files', async () => {
    const info = hub.repoInfo(OPEN);
    const tree = await client().tree(OPEN, info.commit);
    expect(tree.map((e) => e.path).sort()).toEqual(info.files.map((f) => f.path).sort());
    for (const f of info.files) {
      const e = tree.find((x) => x.path === f.path)!;
      expect(e.size).toBe(f.size);
      if (f.lfs) expect(e.lfsSha256).toBe(f.sha256);
      else expect(e.lfsSha256).toBeUndefined();
    }
    expect(hub.stats.requests.filter((r) => r.path.includes('/tree/')).length).toBeGreaterThan(3);
  });

  it('sends the User-Agent and never the token to the CDN', async () => {
    const c = new HubClient({ endpoint: hub.endpoint, userAgent: 'sd35-studio-tests/1', token: async () => GOOD });
    const info = hub.repoInfo(GATED);
    const opened = await c.openFile(GATED, info.commit, 'transformer/model.onnx_data');
    expect(opened.cdn).toBe(true);
    expect(opened.linkedEtag).toBe(`"${info.files.find((f) => f.path === 'transformer/model.onnx_data')!.sha256}"`);
    opened.response.cancel();
    expect(hub.stats.cdnAuthorized).toBe(0);
    expect(hub.stats.requests.find((r) => r.server === 'hub' && r.path.includes('/resolve/'))?.authorized).toBe(true);
  });

  it('works through an injected fetch as well (files included)', async () => {
    const urls: string[] = [];
    const counting: typeof fetch = (input, init) => {
      urls.push(String(input));
      return fetch(input, init);
    };
    const c = new HubClient({ endpoint: hub.endpoint, userAgent: 'sd35-studio-tests/1', fetch: counting });
    const info = hub.repoInfo(OPEN);
    const file = info.files.find((f) => f.path === 'transformer/model.onnx_data')!;
    const opened = await c.openFile(OPEN, info.commit, file.path, { offset: 1000 });
    expect(opened.response.status).toBe(206);
    let n = 0;
    for await (const chunk of opened.response.body) n += chunk.length;
    expect(n).toBe(file.size - 1000);
    expect(urls.some((u) => u.startsWith(hub.cdnOrigin))).toBe(true);
  });

  it('names a missing file (EntryNotFound)', async () => {
    const err = await rejection(client().head(OPEN, hub.repoInfo(OPEN).commit, 'unet/nope.onnx'));
    expect(err.code).toBe('not_found');
    expect(err.message).toContain('unet/nope.onnx');
    expect(err.details?.hubErrorCode).toBe('EntryNotFound');
  });

  it('whoami-v2 names the user, and a bad token is auth_rejected', async () => {
    expect((await client().whoami(GOOD)).name).toBe('emulator-user');
    expect((await rejection(client().whoami('hf_bad'))).code).toBe('auth_rejected');
  });
});

describe('download errors', () => {
  it('an anonymous 401 RepoNotFound reads "not found or private" (exit 7)', async () => {
    const h = harness();
    const err = await rejection(h.service.download('acme/does-not-exist'));
    expect(err.code).toBe('not_found');
    expect(err.exitCode).toBe(7);
    expect(err.message).toContain('not found or private');
    expect(err.message).toContain(`${hub.endpoint}/acme/does-not-exist`);
    // A private repo looks the same to a stranger.
    expect((await rejection(h.service.download(PRIVATE))).message).toContain('not found or private');
  });

  it('with a token, a missing repo is a 404 not_found; a private one is readable', async () => {
    const h = harness({ HF_TOKEN: GOOD });
    const err = await rejection(h.service.download('acme/does-not-exist'));
    expect(err.code).toBe('not_found');
    expect(err.details?.status).toBe(404);
    await (await h.service.download(PRIVATE)).done;
  });

  it('an unknown revision is not_found and names it', async () => {
    const h = harness();
    const err = await rejection(h.service.download(`${OPEN}@no-such-branch`));
    expect(err.code).toBe('not_found');
    expect(err.message).toContain('no-such-branch');
    expect(err.details?.hubErrorCode).toBe('RevisionNotFound');
  });

  it('a gated repo without a token: auth_required with the model page (exit 3)', async () => {
    const h = harness();
    for (const repo of [GATED, AUTO]) {
      const err = await rejection(h.service.download(repo));
      expect(err.code).toBe('auth_required');
      expect(err.exitCode).toBe(3);
      expect(err.message).toContain('this model requires accepting its licence on Hugging Face and a token');
      expect(err.message).toContain(`${hub.endpoint}/${repo}`);
    }
    expect(hub.stats.requests.some((r) => r.path.includes('/resolve/'))).toBe(false);
  });

  it('a rejected token: auth_rejected (exit 3)', async () => {
    const h = harness({ HF_TOKEN: 'hf_NotAValidToken' });
    const err = await rejection(h.service.download(GATED));
    expect(err.code).toBe('auth_rejected');
    expect(err.exitCode).toBe(3);
    expect(err.message).toContain('/settings/tokens');
    expect(err.message).not.toContain('hf_NotAValidToken');
  });

  it('a valid token without access: licence_not_accepted, "accept the licence at <url>"', async () => {
    const h = harness({ HF_TOKEN: NO_ACCESS });
    const err = await rejection(h.service.download(GATED));
    expect(err.code).toBe('licence_not_accepted');
    expect(err.exitCode).toBe(3);
    expect(err.message).toContain(`accept the licence at ${hub.endpoint}/${GATED}`);
    // Any valid token may read an auto-approved repo.
    await (await h.service.download(AUTO)).done;
  });
});

describe('the token', () => {
  function memoryStore(): SecretStore & { values: Map<string, string> } {
    const values = new Map<string, string>();
    return {
      values,
      description: 'test store',
      warning: () => undefined,
      get: async (n) => values.get(n),
      set: async (n, v) => void values.set(n, v),
      delete: async (n) => void values.delete(n),
    };
  }

  it('comes from HF_TOKEN, then the stored token, then the Hugging Face token file', async () => {
    const root = tempDir('token-order');
    const hfHome = path.join(root, 'hf');
    fs.mkdirSync(hfHome, { recursive: true });
    fs.writeFileSync(path.join(hfHome, 'token'), `${NO_ACCESS}\n`);
    const { ModelService } = await import('./service');
    const { openDatabase } = await import('../db');
    const db = openDatabase(path.join(root, 'studio.db'));
    try {
      const store = memoryStore();
      const make = (env: NodeJS.ProcessEnv) => new ModelService({ db, modelsDir: path.join(root, 'models'), secrets: store, env: { HF_ENDPOINT: hub.endpoint, HF_HOME: hfHome, ...env } });
      expect(await make({}).tokenStatus()).toMatchObject({ source: 'hf-token-file', state: 'valid', user: 'emulator-user' });
      store.values.set('hf_token', GOOD);
      expect(await make({}).tokenStatus()).toMatchObject({ source: 'stored', state: 'valid', storage: 'test store' });
      expect(await make({ HF_TOKEN: 'hf_bad' }).tokenStatus()).toMatchObject({ source: 'env', state: 'rejected' });
      const cleared = await make({}).clearToken();
      expect(cleared.source).toBe('hf-token-file');
      fs.rmSync(path.join(hfHome, 'token'));
      const none = await make({}).tokenStatus();
      expect(none).toMatchObject({ source: 'none', state: 'none' });
      expect(none.message).toContain('/settings/tokens');
    } finally {
      db.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('setToken keeps it in Hugging Face token file under plain Node, checks it, and rejects junk without echoing it', async () => {
    const h = harness();
    const status = await h.service.setToken(`  ${GOOD}\n`);
    expect(status).toMatchObject({ source: 'stored', state: 'valid', user: 'emulator-user', storage: 'Hugging Face token file' });
    const file = path.join(h.hfHome, 'token');
    expect(fs.readFileSync(file, 'utf8')).toBe(GOOD);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const junk = await rejection(h.service.setToken('two words'));
    expect(junk.code).toBe('invalid_input');
    expect(junk.message).not.toContain('two words');
    // huggingface-cli's shared file is left alone unless asked explicitly.
    const kept = await h.service.clearToken();
    expect(kept.state).toBe('valid');
    expect(kept.sharedFile).toBe(file);
    expect(kept.message).toContain('left in place');
    expect(fs.readFileSync(file, 'utf8')).toBe(GOOD);
    expect((await h.service.clearToken({ sharedFile: true })).state).toBe('none');
    expect(fs.existsSync(file)).toBe(false);
  });

  it('setToken replaces an existing world-readable token file with a 0600 one', async () => {
    const h = harness();
    const file = path.join(h.hfHome, 'token');
    fs.mkdirSync(h.hfHome, { recursive: true });
    fs.writeFileSync(file, 'hf_OldTokenValue', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    await h.service.setToken(GOOD);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toBe(GOOD);
    expect(fs.readdirSync(h.hfHome).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('never reaches the data folder, the models folder, events, messages or the CDN', async () => {
    const h = harness();
    await h.service.setToken(GOOD);
    const result = await (await h.service.download(GATED)).done;
    expect(result.files.length).toBeGreaterThan(10);
    // A failure with a token in play, too.
    const h2 = harness({ HF_TOKEN: NO_ACCESS }, path.join(h.root, 'second'));
    const err = await rejection(h2.service.download(GATED));
    expect(await h.service.tokenStatus()).toMatchObject({ state: 'valid' });
    // Checkpoint the WAL so every row is in the main file as well.
    h.db.pragma('wal_checkpoint(TRUNCATE)');
    for (const token of [GOOD, NO_ACCESS]) {
      expect(await filesContaining(h.dataDir, token)).toEqual([]);
      expect(await filesContaining(path.join(h.root, 'second', 'data'), token)).toEqual([]);
      expect(JSON.stringify(h.events)).not.toContain(token);
      expect(JSON.stringify(h2.events)).not.toContain(token);
      expect(err.message).not.toContain(token);
      expect(JSON.stringify(err.toWire())).not.toContain(token);
    }
    // The search itself works: the token is in the token file outside the data folder.
    expect(await filesContaining(h.hfHome, GOOD)).toHaveLength(1);
    expect(hub.stats.cdnAuthorized).toBe(0);
    expect(hub.stats.requests.some((r) => r.server === 'hub' && r.authorized)).toBe(true);
  });
});
