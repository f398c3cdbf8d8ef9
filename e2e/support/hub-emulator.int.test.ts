// The hub emulator against the real Hub's recorded answers (../shared/fixtures/hf-api/), so it
// cannot drift from the protocol the client is written for; and its faults do what they say.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedSd3Repo, tempDir } from '../../src-main/testing/models/repo-fixture';
import { fixtureFor, missingFixturesReason } from './fixtures';
import { EXPOSE_HEADERS, gitOid, lfsPointer, startHubEmulator, weakEtag, type HubEmulator } from './hub-emulator';

interface Recorded {
  request: { method: string; url: string };
  response: { status: number; headers: Record<string, string> | null; body: unknown };
}

const hfApi = fixtureFor('hub-emulator.int.test', 'the recorded-answer tests', 'hf-api');
function recorded(name: string): Recorded {
  return JSON.parse(fs.readFileSync(path.join(hfApi!, name), 'utf8')) as Recorded;
}
function lower(h: Record<string, string> | null): Record<string, string> {
  return Object.fromEntries(Object.entries(h ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
}
function headersOf(res: Response): Record<string, string> {
  return Object.fromEntries([...res.headers.entries()]);
}

const REPO = 'acme/sd3-small';
const GATED = 'acme/sd3-gated';
const TOKEN = 'hf_emulatorTestToken0123456789';

let hub: HubEmulator;
let folder: string;

beforeAll(async () => {
  folder = await cachedSd3Repo('emulator-small', { layout: 'tensorstack', seed: 11, transformerBytes: 3 * 1024 * 1024 });
  hub = await startHubEmulator({
    repos: { [REPO]: { folder }, [GATED]: { folder, gated: 'licence' } },
    tokens: { [TOKEN]: [REPO] },
    renamed: { 'acme/old-name': REPO },
    lfsThreshold: 1024 * 1024,
  });
});
afterAll(async () => {
  await hub?.close();
});

describe.skipIf(!hfApi)(`the emulator matches the recorded Hub answers${hfApi ? '' : ` (${missingFixturesReason('hf-api/')})`}`, () => {
  it('HEAD of a missing file: 404 EntryNotFound with X-Repo-Commit, as fixture 26', async () => {
    const fx = recorded('26_resolve_head_entry_not_found_404.json');
    const want = lower(fx.response.headers);
    const res = await fetch(`${hub.endpoint}/${REPO}/resolve/main/model.safetensors`, { method: 'HEAD' });
    const got = headersOf(res);
    expect(res.status).toBe(fx.response.status);
    for (const h of ['x-error-code', 'x-error-message', 'content-type', 'content-length', 'accept-ranges', 'etag', 'vary', 'access-control-expose-headers', 'x-powered-by']) {
      expect(got[h], h).toBe(want[h]);
    }
    expect(got['x-repo-commit']).toMatch(/^[0-9a-f]{40}$/);
    expect(want['x-repo-commit']).toMatch(/^[0-9a-f]{40}$/);
    expect(got['access-control-expose-headers']).toBe(EXPOSE_HEADERS);
  });

  it('tree entries have the recorded shape, and LFS oids are the git hash of the pointer (fixture 23)', async () => {
    const fx = recorded('23_tree_lfs_and_xet_entries_200_expectation.json');
    const body = fx.response.body as Record<string, unknown>[];
    // The rule the emulator uses reproduces the real Hub's oids.
    for (const e of body.filter((x) => x.lfs)) {
      const lfs = e.lfs as { oid: string; size: number; pointerSize: number };
      const pointer = lfsPointer(lfs.oid, lfs.size);
      expect(gitOid(Buffer.from(pointer))).toBe(e.oid);
      expect(Buffer.byteLength(pointer)).toBe(lfs.pointerSize);
      expect(e.size).toBe(lfs.size);
    }
    const res = await fetch(`${hub.endpoint}/api/models/${REPO}/tree/main?recursive=true`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const ours = (await res.json()) as Record<string, unknown>[];
    expect(Array.isArray(ours)).toBe(true);
    const keys = (o: Record<string, unknown>) => Object.keys(o).sort().join(',');
    const recordedSmall = body.find((x) => !x.lfs)!;
    const recordedLfs = body.find((x) => x.lfs)!;
    const ourSmall = ours.find((x) => x.type === 'file' && !x.lfs)!;
    const ourLfs = ours.find((x) => x.lfs)!;
    expect(keys(ourSmall)).toBe(keys(recordedSmall));
    expect(keys(ourLfs)).toBe(keys(recordedLfs));
    expect(keys(ourLfs.lfs as Record<string, unknown>)).toBe(keys(recordedLfs.lfs as Record<string, unknown>));
    for (const k of Object.keys(recordedLfs)) expect(typeof ourLfs[k], k).toBe(typeof recordedLfs[k]);
    // Our own oids follow the same rules.
    const info = hub.repoInfo(REPO);
    for (const f of info.files) {
      const entry = ours.find((x) => x.path === f.path)!;
      const content = fs.readFileSync(path.join(folder, f.path));
      if (f.lfs) expect(entry.oid).toBe(gitOid(Buffer.from(lfsPointer(f.sha256, f.size))));
      else expect(entry.oid).toBe(gitOid(content));
      expect(entry.size).toBe(content.length);
    }
    expect(ours.some((x) => x.type === 'directory')).toBe(true);
  });

  it('model info at a revision has the recorded keys and headers (fixtures 02, 06)', async () => {
    for (const name of ['02_model_info_200_bert.json', '06_model_info_gpt2_200.json']) {
      const fx = recorded(name);
      const real = fx.response.body as Record<string, unknown>;
      const res = await fetch(`${hub.endpoint}/api/models/${REPO}/revision/main`);
      expect(res.status).toBe(200);
      const got = headersOf(res);
      const want = lower(fx.response.headers);
      expect(got['content-type']).toBe(want['content-type']);
      expect(got.vary).toBe(want.vary);
      expect(got.etag).toMatch(/^W\/"[0-9a-f]+-[A-Za-z0-9+/]{27}"$/);
      expect(want.etag).toMatch(/^W\/"[0-9a-f]+-[A-Za-z0-9+/]{27}"$/);
      // Fact 2: the API answers carry no X-Repo-Commit; the commit is the body's sha.
      expect(got['x-repo-commit']).toBeUndefined();
      expect(want['x-repo-commit']).toBeUndefined();
      const ours = (await res.json()) as Record<string, unknown>;
      for (const k of Object.keys(ours)) {
        expect(Object.keys(real), `key ${k} exists in the real answer`).toContain(k);
        expect(typeof ours[k], k).toBe(typeof real[k]);
      }
      for (const k of ['_id', 'id', 'sha', 'gated', 'private', 'siblings', 'lastModified']) expect(ours).toHaveProperty(k);
      expect(Object.keys((ours.siblings as object[])[0]!)).toEqual(Object.keys((real.siblings as object[])[0]!));
    }
  });

  it('?expand= returns only _id, id and the field (fixture 10)', async () => {
    const fx = recorded('10_revision_expand_xetEnabled_200.json');
    const res = await fetch(`${hub.endpoint}/api/models/${REPO}/revision/main?expand=xetEnabled`);
    const ours = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(ours).sort()).toEqual(Object.keys(fx.response.body as object).sort());
    expect(ours.xetEnabled).toBe(false);
  });

  it('a renamed repo answers 307 with a relative Location that keeps the query (fixtures 01, 03)', async () => {
    const fx = recorded('03_model_info_expand_renamed_307.json');
    const want = lower(fx.response.headers);
    const res = await fetch(`${hub.endpoint}/api/models/acme/old-name?expand=inferenceProviderMapping`, { redirect: 'manual' });
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toBe(`/api/models/${REPO}?expand=inferenceProviderMapping`);
    expect(want.location).toMatch(/^\/api\/models\/[^?]+\?expand=inferenceProviderMapping$/);
    expect(res.headers.get('vary')).toBe(want.vary);
    expect(res.headers.get('content-type')).toBe(want['content-type']);
    expect(await res.text()).toBe(`Temporary Redirect. Redirecting to /api/models/${REPO}?expand=inferenceProviderMapping`);
    expect(String(fx.response.body)).toMatch(/^Temporary Redirect\. Redirecting to \/api\/models\//);
  });

  it('an invalid token on a gated repo gets the recorded 401 body (fixture 24)', async () => {
    const fx = recorded('24_api_models_gated_invalid_token_401.json');
    const res = await fetch(`${hub.endpoint}/api/models/${GATED}`, { headers: { authorization: 'Bearer hf_invalid' } });
    expect(res.status).toBe(fx.response.status);
    const body = (await res.json()) as { error: string };
    expect(body).toEqual({ error: `Access to model ${GATED} is restricted. You must be authenticated to access it.` });
    expect((fx.response.body as { error: string }).error).toBe(
      'Access to model meta-llama/Meta-Llama-3-8B is restricted. You must be authenticated to access it.',
    );
  });

  it('HEAD of an LFS file answers 302 to an absolute signed URL (fixture 25)', async () => {
    const fx = recorded('25_resolve_xet_file_head_302_partial.json');
    const want = lower(fx.response.headers);
    const res = await fetch(`${hub.endpoint}/${REPO}/resolve/main/unet/model.onnx.data`, { method: 'HEAD', redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('content-type')).toBe(want['content-type']);
    const location = res.headers.get('location')!;
    expect(location.startsWith(hub.cdnOrigin)).toBe(true);
    expect(location).toMatch(/[?&]Expires=\d+/);
    expect(want.location).toMatch(/^https:\/\/.*[?&]Expires=\d+/);
    const get = await fetch(`${hub.endpoint}/${REPO}/resolve/main/unet/model.onnx.data`, { redirect: 'manual' });
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(await get.text()));
    const info = hub.repoInfo(REPO).files.find((f) => f.path === 'unet/model.onnx.data')!;
    expect(res.headers.get('x-linked-etag')).toBe(`"${info.sha256}"`);
    expect(res.headers.get('x-linked-size')).toBe(String(info.size));
    expect(res.headers.get('x-repo-commit')).toBe(hub.repoInfo(REPO).commit);
  });

  it('an unknown repo is 401 RepoNotFound anonymously and 404 with a token (README fact 10)', async () => {
    const anon = await fetch(`${hub.endpoint}/api/models/acme/nope/revision/main`);
    expect(anon.status).toBe(401);
    expect(anon.headers.get('x-error-code')).toBe('RepoNotFound');
    const authed = await fetch(`${hub.endpoint}/api/models/acme/nope/revision/main`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(authed.status).toBe(404);
    expect(authed.headers.get('x-error-code')).toBe('RepoNotFound');
  });
});

describe('the emulator protocol', () => {
  it('pages the tree through Link rel="next"', async () => {
    const paged = await startHubEmulator({ repos: { [REPO]: { folder } }, treePageSize: 4, lfsThreshold: 1024 * 1024 });
    try {
      let url: string | undefined = `${paged.endpoint}/api/models/${REPO}/tree/main?recursive=true`;
      const all: string[] = [];
      let pages = 0;
      while (url && pages < 100) {
        const res: Response = await fetch(url);
        const page = (await res.json()) as { path: string }[];
        expect(page.length).toBeLessThanOrEqual(4);
        all.push(...page.map((e) => e.path));
        const link = res.headers.get('link');
        url = link ? /<([^>]+)>;\s*rel="next"/.exec(link)?.[1] : undefined;
        pages++;
      }
      expect(pages).toBeGreaterThan(3);
      expect(new Set(all).size).toBe(all.length);
      expect(all).toEqual(expect.arrayContaining(paged.repoInfo(REPO).files.map((f) => f.path)));
    } finally {
      await paged.close();
    }
  });

  it('gates files: 401 GatedRepo without a token, 403 for a token without access', async () => {
    const url = `${hub.endpoint}/${GATED}/resolve/main/model_index.json`;
    const anon = await fetch(url);
    expect(anon.status).toBe(401);
    expect(anon.headers.get('x-error-code')).toBe('GatedRepo');
    const denied = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('x-error-code')).toBe('GatedRepo');
    // The listing of a gated repo stays public.
    expect((await fetch(`${hub.endpoint}/api/models/${GATED}/revision/main`)).status).toBe(200);
  });

  it('RevisionNotFound and whoami-v2', async () => {
    const rev = await fetch(`${hub.endpoint}/api/models/${REPO}/revision/nope`);
    expect(rev.status).toBe(404);
    expect(rev.headers.get('x-error-code')).toBe('RevisionNotFound');
    const who = await fetch(`${hub.endpoint}/api/whoami-v2`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(((await who.json()) as { name: string }).name).toBe('emulator-user');
    expect((await fetch(`${hub.endpoint}/api/whoami-v2`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
  });

  it('serves CDN ranges with If-Range, and refuses expired URLs', async () => {
    const info = hub.repoInfo(REPO).files.find((f) => f.path === 'unet/model.onnx.data')!;
    const content = fs.readFileSync(path.join(folder, info.path));
    const redirect = await fetch(`${hub.endpoint}/${REPO}/resolve/main/${info.path}`, { redirect: 'manual' });
    const cdnUrl = redirect.headers.get('location')!;
    const part = await fetch(cdnUrl, { headers: { range: 'bytes=100-', 'if-range': `"${info.sha256}"` } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-${info.size - 1}/${info.size}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(content.subarray(100))).toBe(true);
    const stale = await fetch(cdnUrl, { headers: { range: 'bytes=100-', 'if-range': '"something-else"' } });
    expect(stale.status).toBe(200);
    await stale.body?.cancel();
    hub.setFaults({ expireCdnUrls: { count: 1 } });
    const expiredUrl = (await fetch(`${hub.endpoint}/${REPO}/resolve/main/${info.path}`, { redirect: 'manual' })).headers.get('location')!;
    const expired = await fetch(expiredUrl);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain('Request has expired');
    hub.setFaults({});
  });

  it('faults: 503 with Retry-After, dropped bodies, corrupt bytes, 200 to a Range request', async () => {
    const info = hub.repoInfo(REPO).files.find((f) => f.path === 'unet/model.onnx.data')!;
    const content = fs.readFileSync(path.join(folder, info.path));
    const url = `${hub.endpoint}/${REPO}/resolve/main/${info.path}`;
    hub.setFaults({ fail503: { count: 2, retryAfterSeconds: 3 } });
    for (let i = 0; i < 2; i++) {
      const r = await fetch(url, { redirect: 'manual' });
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('3');
    }
    expect((await fetch(url, { redirect: 'manual' })).status).toBe(302);

    hub.setFaults({ dropAfterBytes: { bytes: 100_000, path: info.path } });
    const dropped = await fetch(url);
    await expect(dropped.arrayBuffer()).rejects.toThrow();

    hub.setFaults({ corruptByte: { path: info.path, offset: 12345 } });
    const corrupt = Buffer.from(await (await fetch(url)).arrayBuffer());
    expect(corrupt.length).toBe(content.length);
    expect(corrupt[12345]).toBe(content[12345]! ^ 0xff);
    expect(crypto.createHash('sha256').update(corrupt).digest('hex')).not.toBe(info.sha256);

    hub.setFaults({ ignoreRange: { count: 1 } });
    const whole = await fetch(url, { headers: { range: 'bytes=10-' } });
    expect(whole.status).toBe(200);
    expect(Number(whole.headers.get('content-length'))).toBe(info.size);
    await whole.body?.cancel();
    hub.setFaults({});
  });

  it('slows transfers to the configured rate', async () => {
    hub.setFaults({ bytesPerSecond: 1_000_000 });
    const start = Date.now();
    const body = await (await fetch(`${hub.endpoint}/${REPO}/resolve/main/${'text_encoder_2/model.onnx.data'}`)).arrayBuffer();
    const seconds = (Date.now() - start) / 1000;
    hub.setFaults({});
    expect(body.byteLength).toBe(2 * 1024 * 1024);
    expect(seconds).toBeGreaterThan(1.5);
  }, 20_000);

  it('counts bytes per file and never receives a token at the CDN from a careful client', async () => {
    hub.resetStats();
    await (await fetch(`${hub.endpoint}/${REPO}/resolve/main/model_index.json`)).arrayBuffer();
    expect(hub.bytesServed(REPO, 'model_index.json')).toBe(fs.statSync(path.join(folder, 'model_index.json')).size);
    expect(hub.stats.cdnAuthorized).toBe(0);
    expect(weakEtag('Entry not found')).toBe('W/"f-mY2VvLxuxB7KhsoOdQTlMTccuAQ"');
  });

  it('serves a folder given at start, even an empty-named temp one', async () => {
    const dir = tempDir('emu');
    fs.writeFileSync(path.join(dir, 'a.txt'), 'hello');
    const e = await startHubEmulator({ repos: { 'x/y': { folder: dir, commit: 'a'.repeat(40) } } });
    try {
      const r = await fetch(`${e.endpoint}/x/y/resolve/${'a'.repeat(40)}/a.txt`);
      expect(await r.text()).toBe('hello');
      expect(r.headers.get('x-repo-commit')).toBe('a'.repeat(40));
    } finally {
      await e.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
