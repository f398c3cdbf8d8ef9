// A local Hugging Face Hub for tests: serves folders as model repos on 127.0.0.1 with the real
// API's shapes (see ../shared/fixtures/hf-api/README.md, and hub-emulator.int.test.ts, which
// checks this file against those recordings), a second "CDN" server for LFS files (signed,
// expiring URLs with Range/206), gated and private repos, and faults.
//
//   GET  /api/models/{repo}/revision/{rev}[?expand=…]    model info (sha, gated, siblings, …)
//   GET  /api/models/{repo}/tree/{rev}[/{path}]?recursive=true&cursor=…   Link: <…>; rel="next"
//   GET|HEAD /{repo}/resolve/{rev}/{path}    small files 200 (Range too); LFS → 302 to the CDN
//   GET  /api/whoami-v2
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface EmulatorRepo {
  folder: string;
  /** 40 hex digits; default: derived from the content. */
  commit?: string;
  /** 'token': any valid token may read the files; 'licence': only tokens listing this repo (others get 403). */
  gated?: 'token' | 'licence';
  /** Only tokens listing the repo see it; everyone else gets RepoNotFound. */
  private?: boolean;
}

export interface EmulatorFaults {
  /** Cut the connection after `bytes` body bytes, for `times` responses (default 1) of `path` (default: any file). */
  dropAfterBytes?: { bytes: number; path?: string; times?: number };
  /** Stop sending (the connection stays open) after `bytes` body bytes, for `times` responses (default 1). */
  stallAfterBytes?: { bytes: number; path?: string; times?: number };
  /** Serve this byte of `path` flipped (every time). */
  corruptByte?: { path: string; offset: number };
  /** Slow transfer of file bodies. */
  bytesPerSecond?: number;
  /** The first `count` requests (of `scope`, default all) answer 503 with Retry-After. */
  fail503?: { count: number; retryAfterSeconds?: number; scope?: 'all' | 'api' | 'resolve' | 'cdn' };
  /** The next `count` signed CDN URLs are issued already expired (the CDN answers 403). */
  expireCdnUrls?: { count: number };
  /** Lifetime of signed CDN URLs (default one hour). */
  cdnUrlTtlMs?: number;
  /** The next `count` Range requests are answered 200 with the whole file. */
  ignoreRange?: { count: number };
}

/**
 * A hostile mirror (security tests): answers that lie the way a hostile HF_ENDPOINT could.
 * Each field is one lie; unset fields answer honestly.
 */
export interface EmulatorHostile {
  /** The `id` every revision answer claims (e.g. "../../../../canary/pwned"). */
  repoId?: unknown;
  /** Raw entries added to the first page of every tree answer (hostile paths and sizes). */
  treeEntries?: unknown[];
  /** Every tree page is padded with this many bytes of whitespace (an oversized API body). */
  treePaddingBytes?: number;
  /** Every tree page answers with a Link to a next page, forever. */
  endlessTree?: boolean;
  /** The X-Error-Message of every error answer. */
  errorMessage?: string;
  /** Every API error answer is this many bytes of body instead (and no X-Error-Message). */
  errorBodyBytes?: number;
  /** Resolve and API answers redirect (302) here instead. */
  redirectTo?: string;
}

export interface EmulatorOptions {
  repos: Record<string, EmulatorRepo>;
  /** A hostile mirror's lies (see EmulatorHostile); also settable later with setHostile. */
  hostile?: EmulatorHostile;
  /** token → repos it may read (gated 'licence' and private repos). Any listed token is valid. */
  tokens?: Record<string, string[]>;
  /** Old repo id → canonical id (answered with 307, as the Hub does for renamed repos). */
  renamed?: Record<string, string>;
  faults?: EmulatorFaults;
  /** Files of at least this many bytes are LFS files (default 10 MiB). */
  lfsThreshold?: number;
  /** Tree entries per page (default 1000). */
  treePageSize?: number;
  /** The user name whoami-v2 reports for a valid token. */
  userName?: string;
}

export interface RequestRecord {
  server: 'hub' | 'cdn';
  method: string;
  /** Path without the query (signed query strings are left out). */
  path: string;
  status: number;
  range?: string;
  ifRange?: string;
  /** True when the request carried an Authorization header. */
  authorized: boolean;
}

export interface EmulatorStats {
  requests: RequestRecord[];
  /** Body bytes written per file, keyed `owner/name/path`. */
  bytesServed: Record<string, number>;
  /** 503s answered by the fail503 fault. */
  failed503: number;
  /** Requests that reached the CDN carrying an Authorization header (must stay 0). */
  cdnAuthorized: number;
}

export interface HubEmulator {
  endpoint: string;
  cdnOrigin: string;
  stats: EmulatorStats;
  setFaults(faults: EmulatorFaults): void;
  /** Switches the hostile lies (an empty object: honest again). */
  setHostile(hostile: EmulatorHostile): void;
  /** Bytes served for one file. */
  bytesServed(repo: string, filePath: string): number;
  /** File bodies still being sent (a killed client's socket may close a moment after it died). */
  openBodies(): number;
  resetStats(): void;
  /** The emulator's view of a repo: commit and files with their hashes. */
  repoInfo(repo: string): { commit: string; files: { path: string; size: number; sha256: string; oid: string; lfs: boolean }[] };
  close(): Promise<void>;
}

interface FileInfo {
  path: string;
  abs: string;
  size: number;
  sha256: string;
  /** git blob sha1 of the content (small files) or of the LFS pointer (LFS files). */
  oid: string;
  lfs: boolean;
  pointerSize: number;
}

interface RepoState {
  id: string;
  owner: string;
  spec: EmulatorRepo;
  commit: string;
  files: FileInfo[];
  byPath: Map<string, FileInfo>;
  dirs: string[];
  createdAt: string;
}

export const EXPOSE_HEADERS =
  'X-Repo-Commit,X-Request-Id,X-Error-Code,X-Error-Message,X-Total-Count,ETag,Link,Accept-Ranges,Content-Range,X-Linked-Size,X-Linked-ETag,X-Xet-Hash';

const DEFAULT_LFS_THRESHOLD = 10 * 1024 * 1024;

export async function startHubEmulator(opts: EmulatorOptions): Promise<HubEmulator> {
  const lfsThreshold = opts.lfsThreshold ?? DEFAULT_LFS_THRESHOLD;
  const pageSize = opts.treePageSize ?? 1000;
  const userName = opts.userName ?? 'emulator-user';
  const secret = crypto.randomBytes(16);
  const repos = new Map<string, RepoState>();
  for (const [id, spec] of Object.entries(opts.repos)) repos.set(id.toLowerCase(), await loadRepo(id, spec, lfsThreshold));
  const tokens = opts.tokens ?? {};
  const renamed = new Map(Object.entries(opts.renamed ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  let faults: EmulatorFaults = {};
  let counters = { drops: 0, stalls: 0, fail503: 0, expired: 0, ignoredRanges: 0 };
  const stats: EmulatorStats = { requests: [], bytesServed: {}, failed503: 0, cdnAuthorized: 0 };
  let openBodies = 0;
  const setFaults = (f: EmulatorFaults) => {
    faults = { ...f };
    counters = { drops: 0, stalls: 0, fail503: 0, expired: 0, ignoredRanges: 0 };
  };
  setFaults(opts.faults ?? {});
  let hostile: EmulatorHostile = { ...opts.hostile };
  let requestSeq = 0;

  // ---- helpers ----------------------------------------------------------------------------

  const record = (server: 'hub' | 'cdn', req: http.IncomingMessage, status: number) => {
    const r: RequestRecord = {
      server,
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0]!,
      status,
      authorized: typeof req.headers.authorization === 'string',
    };
    if (typeof req.headers.range === 'string') r.range = req.headers.range;
    if (typeof req.headers['if-range'] === 'string') r.ifRange = req.headers['if-range'];
    stats.requests.push(r);
    if (stats.requests.length > 20_000) stats.requests.splice(0, 10_000);
  };

  const baseHeaders = (): Record<string, string> => ({
    'access-control-allow-origin': 'https://huggingface.co',
    'access-control-expose-headers': EXPOSE_HEADERS,
    'x-powered-by': 'huggingface-moon',
    'x-request-id': `Root=1-${(++requestSeq).toString(16).padStart(8, '0')}-emulator`,
    'referrer-policy': 'strict-origin-when-cross-origin',
    'cross-origin-opener-policy': 'same-origin',
    vary: 'Origin',
  });

  const send = (
    server: 'hub' | 'cdn',
    req: http.IncomingMessage,
    res: http.ServerResponse,
    status: number,
    headers: Record<string, string>,
    body: string | Buffer = '',
  ) => {
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(status, { ...headers, 'content-length': String(buf.length) });
    res.end(req.method === 'HEAD' ? undefined : buf);
    record(server, req, status);
  };

  const sendJson = (req: http.IncomingMessage, res: http.ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    send('hub', req, res, status, { ...baseHeaders(), 'content-type': 'application/json; charset=utf-8', etag: weakEtag(text), ...extra }, text);
  };

  const apiError = (req: http.IncomingMessage, res: http.ServerResponse, status: number, code: string | undefined, message: string, extra: Record<string, string> = {}) => {
    if (hostile.errorMessage !== undefined) message = hostile.errorMessage;
    if (hostile.errorBodyBytes) {
      const headers: Record<string, string> = { ...baseHeaders(), 'content-type': 'text/plain' };
      if (code) headers['x-error-code'] = code;
      return send('hub', req, res, status, headers, Buffer.alloc(hostile.errorBodyBytes, 'x'));
    }
    const headers: Record<string, string> = { 'x-error-message': message, ...extra };
    if (code) headers['x-error-code'] = code;
    sendJson(req, res, status, { error: message }, headers);
  };

  const resolveError = (req: http.IncomingMessage, res: http.ServerResponse, status: number, code: string | undefined, message: string, extra: Record<string, string> = {}) => {
    if (hostile.errorMessage !== undefined) message = hostile.errorMessage;
    const headers: Record<string, string> = {
      ...baseHeaders(),
      'content-type': 'text/plain; charset=utf-8',
      etag: weakEtag(message),
      'accept-ranges': 'bytes',
      'x-error-message': message,
      ...extra,
    };
    if (code) headers['x-error-code'] = code;
    send('hub', req, res, status, headers, message);
  };

  type Auth = { kind: 'anonymous' } | { kind: 'invalid' } | { kind: 'valid'; token: string; repos: string[] };
  const authOf = (req: http.IncomingMessage): Auth => {
    const h = req.headers.authorization;
    if (typeof h !== 'string') return { kind: 'anonymous' };
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    if (!m) return { kind: 'invalid' };
    const t = m[1]!;
    const list = tokens[t];
    return list ? { kind: 'valid', token: t, repos: list.map((r) => r.toLowerCase()) } : { kind: 'invalid' };
  };

  const take503 = (scope: 'api' | 'resolve' | 'cdn'): number | undefined => {
    const f = faults.fail503;
    if (!f || counters.fail503 >= f.count) return undefined;
    if (f.scope && f.scope !== 'all' && f.scope !== scope) return undefined;
    counters.fail503++;
    stats.failed503++;
    return f.retryAfterSeconds ?? 1;
  };

  /** The repo for a request, or an answer already sent (not found / private / renamed). */
  const fail = (kind: 'api' | 'resolve', req: http.IncomingMessage, res: http.ServerResponse, status: number, code: string | undefined, message: string) => {
    if (kind === 'api') apiError(req, res, status, code, message);
    else resolveError(req, res, status, code, message);
  };

  const findRepo = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    id: string,
    auth: Auth,
    kind: 'api' | 'resolve',
    rest: string,
    query: string,
  ): RepoState | undefined => {
    const canonical = renamed.get(id.toLowerCase());
    if (canonical) {
      const location = kind === 'api' ? `/api/models/${canonical}${rest}${query}` : `/${canonical}${rest}${query}`;
      const body = `Temporary Redirect. Redirecting to ${location}`;
      send('hub', req, res, 307, { ...baseHeaders(), vary: 'Origin, Accept', 'content-type': 'text/plain; charset=utf-8', location }, body);
      return undefined;
    }
    const repo = repos.get(id.toLowerCase());
    const visible = repo && (!repo.spec.private || (auth.kind === 'valid' && auth.repos.includes(repo.id.toLowerCase())));
    if (!repo || !visible) {
      if (auth.kind === 'invalid') {
        const message = 'Invalid credentials in Authorization header';
        fail(kind, req, res, 401, undefined, message);
        return undefined;
      }
      // The Hub answers an anonymous request for a missing repo with 401, an authenticated one with 404.
      const status = auth.kind === 'anonymous' ? 401 : 404;
      const message = 'Repository not found';
      fail(kind, req, res, status, 'RepoNotFound', message);
      return undefined;
    }
    if (auth.kind === 'invalid') {
      const message = repo.spec.gated
        ? `Access to model ${repo.id} is restricted. You must be authenticated to access it.`
        : 'Invalid credentials in Authorization header';
      fail(kind, req, res, 401, undefined, message);
      return undefined;
    }
    return repo;
  };

  const revisionOk = (repo: RepoState, rev: string) => rev === 'main' || rev === repo.commit;

  // ---- hub --------------------------------------------------------------------------------

  let cdnOrigin = '';
  let endpoint = '';

  const hub = http.createServer((req, res) => {
    try {
      handleHub(req, res);
    } catch (err) {
      if (!res.headersSent) send('hub', req, res, 500, { 'content-type': 'text/plain' }, String(err));
      else res.destroy();
    }
  });

  const handleHub = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', endpoint);
    const segs = url.pathname.split('/').slice(1);
    const auth = authOf(req);
    const isApi = segs[0] === 'api';
    const retryAfter = take503(isApi ? 'api' : 'resolve');
    if (retryAfter !== undefined) {
      send('hub', req, res, 503, { ...baseHeaders(), 'content-type': 'text/plain; charset=utf-8', 'retry-after': String(retryAfter) }, 'Service Unavailable');
      return;
    }
    if (hostile.redirectTo) {
      return send('hub', req, res, 302, { ...baseHeaders(), location: hostile.redirectTo, 'content-type': 'text/plain; charset=utf-8' }, 'Found');
    }
    if (isApi && segs[1] === 'whoami-v2' && segs.length === 2) return whoami(req, res, auth);
    if (isApi && segs[1] === 'models' && segs.length >= 4) {
      const id = `${dec(segs[2]!)}/${dec(segs[3]!)}`;
      const action = segs[4];
      const rest = segs.length > 4 ? '/' + segs.slice(4).join('/') : '';
      const repo = findRepo(req, res, id, auth, 'api', rest, url.search);
      if (!repo) return;
      if (action === undefined) return modelInfo(req, res, repo, 'main', url);
      if (action === 'revision' && segs.length >= 6) return modelInfo(req, res, repo, dec(segs.slice(5).join('/')), url);
      if (action === 'tree' && segs.length >= 6) return tree(req, res, repo, dec(segs[5]!), segs.slice(6).map(dec).join('/'), url);
      return apiError(req, res, 404, undefined, 'Sorry, we can\u2019t find the page you are looking for.');
    }
    if (!isApi && segs.length >= 5 && segs[2] === 'resolve') {
      const id = `${dec(segs[0]!)}/${dec(segs[1]!)}`;
      const repo = findRepo(req, res, id, auth, 'resolve', '/' + segs.slice(2).join('/'), url.search);
      if (!repo) return;
      return resolve(req, res, repo, dec(segs[3]!), segs.slice(4).map(dec).join('/'), auth);
    }
    resolveError(req, res, 404, undefined, 'Not Found');
  };

  const whoami = (req: http.IncomingMessage, res: http.ServerResponse, auth: Auth) => {
    if (auth.kind !== 'valid') return apiError(req, res, 401, undefined, 'Invalid credentials in Authorization header');
    sendJson(req, res, 200, {
      type: 'user',
      id: '65f0c0ffee0000000000beef',
      name: userName,
      fullname: 'Emulator User',
      isPro: false,
      emailVerified: true,
      orgs: [],
      auth: { type: 'access_token', accessToken: { displayName: 'sd35-studio-tests', role: 'read', createdAt: '2025-01-01T00:00:00.000Z' } },
    });
  };

  const modelInfo = (req: http.IncomingMessage, res: http.ServerResponse, repo: RepoState, rev: string, url: URL) => {
    if (!revisionOk(repo, rev)) return apiError(req, res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
    const full: Record<string, unknown> = {
      _id: crypto.createHash('md5').update(repo.id).digest('hex').slice(0, 24),
      id: repo.id,
      private: !!repo.spec.private,
      pipeline_tag: 'text-to-image',
      library_name: 'diffusers',
      tags: ['diffusers', 'onnx', 'text-to-image'],
      downloads: 0,
      likes: 0,
      modelId: repo.id,
      author: repo.owner,
      sha: repo.commit,
      lastModified: repo.createdAt,
      gated: repo.spec.gated === 'licence' ? 'manual' : repo.spec.gated === 'token' ? 'auto' : false,
      disabled: false,
      siblings: repo.files.map((f) => ({ rfilename: f.path })),
      spaces: [],
      createdAt: repo.createdAt,
      usedStorage: repo.files.reduce((s, f) => s + f.size, 0),
    };
    if ('repoId' in hostile) full.id = full.modelId = hostile.repoId;
    const expand = url.searchParams.getAll('expand').concat(url.searchParams.getAll('expand[]'));
    if (expand.length > 0) {
      const out: Record<string, unknown> = { _id: full._id, id: full.id };
      for (const key of expand) out[key] = key === 'xetEnabled' ? false : full[key];
      return sendJson(req, res, 200, out);
    }
    sendJson(req, res, 200, full);
  };

  const tree = (req: http.IncomingMessage, res: http.ServerResponse, repo: RepoState, rev: string, sub: string, url: URL) => {
    if (!revisionOk(repo, rev)) return apiError(req, res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
    const recursive = url.searchParams.get('recursive') === 'true' || url.searchParams.get('recursive') === '1';
    const prefix = sub ? `${sub.replace(/\/+$/, '')}/` : '';
    if (sub && !repo.dirs.includes(sub.replace(/\/+$/, ''))) return apiError(req, res, 404, 'EntryNotFound', `${sub} does not exist on "${rev}"`);
    const inScope = (p: string) => p.startsWith(prefix) && (recursive || !p.slice(prefix.length).includes('/'));
    const entries: unknown[] = [];
    for (const d of repo.dirs) {
      if (inScope(d)) entries.push({ type: 'directory', oid: gitOid(Buffer.from(d)), size: 0, path: d });
    }
    for (const f of repo.files) {
      if (!inScope(f.path)) continue;
      entries.push(
        f.lfs
          ? {
              type: 'file',
              oid: f.oid,
              size: f.size,
              path: f.path,
              lfs: { oid: f.sha256, size: f.size, pointerSize: f.pointerSize },
              xetHash: crypto.createHash('sha256').update(`xet:${f.sha256}`).digest('hex'),
            }
          : { type: 'file', oid: f.oid, size: f.size, path: f.path },
      );
    }
    entries.sort((a, b) => ((a as { path: string }).path < (b as { path: string }).path ? -1 : 1));
    const cursor = url.searchParams.get('cursor');
    const start = cursor ? Number(Buffer.from(cursor, 'base64url').toString()) || 0 : 0;
    const page = entries.slice(start, start + pageSize);
    if (start === 0 && hostile.treeEntries) page.push(...hostile.treeEntries);
    const extra: Record<string, string> = {};
    if (hostile.endlessTree) {
      const next = new URL(url.toString());
      next.searchParams.set('cursor', Buffer.from(String(start + 1)).toString('base64url'));
      extra.link = `<${endpoint}${next.pathname}${next.search}>; rel="next"`;
    } else if (start + pageSize < entries.length) {
      const next = new URL(url.toString());
      next.searchParams.set('cursor', Buffer.from(String(start + pageSize)).toString('base64url'));
      extra.link = `<${endpoint}${next.pathname}${next.search}>; rel="next"`;
    }
    if (hostile.treePaddingBytes) return sendPadded(req, res, JSON.stringify(page), hostile.treePaddingBytes, extra);
    sendJson(req, res, 200, page, extra);
  };

  /** A JSON answer with `padding` bytes of whitespace in front, streamed (no length header). */
  const sendPadded = (req: http.IncomingMessage, res: http.ServerResponse, json: string, padding: number, extra: Record<string, string>) => {
    res.writeHead(200, { ...baseHeaders(), 'content-type': 'application/json; charset=utf-8', ...extra });
    record('hub', req, 200);
    const chunk = Buffer.alloc(1024 * 1024, ' ');
    let left = padding;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump);
      }
      res.end(json);
    };
    res.on('close', () => (left = 0));
    pump();
  };

  const resolve = (req: http.IncomingMessage, res: http.ServerResponse, repo: RepoState, rev: string, filePath: string, auth: Auth) => {
    if (!revisionOk(repo, rev)) return resolveError(req, res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
    if (repo.spec.gated) {
      if (auth.kind !== 'valid') {
        return resolveError(
          req,
          res,
          401,
          'GatedRepo',
          `Access to model ${repo.id} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
        );
      }
      if (repo.spec.gated === 'licence' && !auth.repos.includes(repo.id.toLowerCase())) {
        return resolveError(
          req,
          res,
          403,
          'GatedRepo',
          `Access to model ${repo.id} is restricted and you are not in the authorized list. Visit ${endpoint}/${repo.id} to ask for access.`,
        );
      }
    }
    const file = repo.byPath.get(filePath);
    if (!file) return resolveError(req, res, 404, 'EntryNotFound', 'Entry not found', { 'x-repo-commit': repo.commit });
    if (file.lfs) {
      const location = signCdnUrl(repo, file);
      const body = `Found. Redirecting to ${location}`;
      send(
        'hub',
        req,
        res,
        302,
        {
          ...baseHeaders(),
          'content-type': 'text/plain; charset=utf-8',
          location,
          'x-repo-commit': repo.commit,
          'x-linked-etag': `"${file.sha256}"`,
          'x-linked-size': String(file.size),
          etag: `"${file.sha256}"`,
          'accept-ranges': 'bytes',
        },
        body,
      );
      return;
    }
    serveFile('hub', req, res, repo, file, `"${file.oid}"`, {
      ...baseHeaders(),
      'x-repo-commit': repo.commit,
      'content-type': file.path.endsWith('.json') ? 'application/json' : file.path.endsWith('.txt') ? 'text/plain; charset=utf-8' : 'application/octet-stream',
    });
  };

  const signCdnUrl = (repo: RepoState, file: FileInfo): string => {
    let expires = Math.floor((Date.now() + (faults.cdnUrlTtlMs ?? 3_600_000)) / 1000);
    if (faults.expireCdnUrls && counters.expired < faults.expireCdnUrls.count) {
      counters.expired++;
      expires = Math.floor(Date.now() / 1000) - 60;
    }
    const p = `/xet-bridge-us/${crypto.createHash('sha1').update(repo.id).digest('hex').slice(0, 24)}/${file.sha256}`;
    const sig = crypto.createHmac('sha256', secret).update(`${p}:${expires}:${repo.id}:${file.path}`).digest('hex');
    const q = new URLSearchParams({
      'response-content-disposition': `inline; filename*=UTF-8''${encodeURIComponent(path.posix.basename(file.path))}; filename="${path.posix.basename(file.path)}";`,
      repo: repo.id,
      file: file.path,
      Expires: String(expires),
      Signature: sig,
    });
    return `${cdnOrigin}${p}?${q.toString()}`;
  };

  // ---- cdn --------------------------------------------------------------------------------

  const cdn = http.createServer((req, res) => {
    try {
      handleCdn(req, res);
    } catch (err) {
      if (!res.headersSent) send('cdn', req, res, 500, { 'content-type': 'text/plain' }, String(err));
      else res.destroy();
    }
  });

  const cdnHeaders = (): Record<string, string> => ({
    'x-cache': 'Hit from cloudfront',
    via: '1.1 emulator.cloudfront.net (CloudFront)',
  });

  const handleCdn = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (typeof req.headers.authorization === 'string') stats.cdnAuthorized++;
    const retryAfter = take503('cdn');
    if (retryAfter !== undefined) {
      send('cdn', req, res, 503, { ...cdnHeaders(), 'content-type': 'text/plain', 'retry-after': String(retryAfter) }, 'Service Unavailable');
      return;
    }
    const url = new URL(req.url ?? '/', cdnOrigin);
    const q = url.searchParams;
    const repo = repos.get((q.get('repo') ?? '').toLowerCase());
    const file = repo?.byPath.get(q.get('file') ?? '');
    const expires = Number(q.get('Expires'));
    const expected =
      repo && file ? crypto.createHmac('sha256', secret).update(`${url.pathname}:${q.get('Expires')}:${repo.id}:${file.path}`).digest('hex') : '';
    const denied = (message: string) =>
      send(
        'cdn',
        req,
        res,
        403,
        { ...cdnHeaders(), 'content-type': 'application/xml' },
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>${message}</Message></Error>`,
      );
    if (!repo || !file || !expected || q.get('Signature') !== expected) return denied('Access denied');
    if (!Number.isFinite(expires) || expires * 1000 < Date.now()) return denied('Request has expired');
    serveFile('cdn', req, res, repo, file, `"${file.sha256}"`, {
      ...cdnHeaders(),
      'content-type': 'application/octet-stream',
      'last-modified': new Date(repo.createdAt).toUTCString(),
      'cache-control': 'public, max-age=604800, immutable',
    });
  };

  // ---- file bodies ------------------------------------------------------------------------

  const serveFile = (
    server: 'hub' | 'cdn',
    req: http.IncomingMessage,
    res: http.ServerResponse,
    repo: RepoState,
    file: FileInfo,
    etag: string,
    headers: Record<string, string>,
  ) => {
    let start = 0;
    let end = file.size - 1;
    let status = 200;
    const rangeHeader = req.headers.range;
    const ifRange = req.headers['if-range'];
    const rangeApplies = typeof rangeHeader === 'string' && (typeof ifRange !== 'string' || ifRange === etag);
    if (rangeApplies) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(rangeHeader.trim());
      if (m && (m[1] !== '' || m[2] !== '')) {
        if (m[1] === '') {
          start = Math.max(0, file.size - Number(m[2]));
        } else {
          start = Number(m[1]);
          if (m[2] !== '') end = Math.min(end, Number(m[2]));
        }
        if (start >= file.size || start > end) {
          send(server, req, res, 416, { ...headers, etag, 'accept-ranges': 'bytes', 'content-range': `bytes */${file.size}` });
          return;
        }
        status = 206;
        if (faults.ignoreRange && counters.ignoredRanges < faults.ignoreRange.count) {
          counters.ignoredRanges++;
          start = 0;
          end = file.size - 1;
          status = 200;
        }
      }
    }
    const length = end - start + 1;
    const out: Record<string, string> = { ...headers, etag, 'accept-ranges': 'bytes', 'content-length': String(length) };
    if (status === 206) out['content-range'] = `bytes ${start}-${end}/${file.size}`;
    res.writeHead(status, out);
    record(server, req, status);
    if (req.method === 'HEAD' || length === 0) {
      res.end();
      return;
    }
    const key = `${repo.id}/${file.path}`;
    openBodies++;
    res.on('close', () => openBodies--);
    const count = (n: number) => {
      stats.bytesServed[key] = (stats.bytesServed[key] ?? 0) + n;
    };
    const drop = faults.dropAfterBytes;
    const dropHere = drop && (!drop.path || drop.path === file.path) && counters.drops < (drop.times ?? 1);
    if (dropHere) counters.drops++;
    const stall = faults.stallAfterBytes;
    const stallHere = !dropHere && stall && (!stall.path || stall.path === file.path) && counters.stalls < (stall.times ?? 1);
    if (stallHere) counters.stalls++;
    const corrupt = faults.corruptByte && faults.corruptByte.path === file.path ? faults.corruptByte.offset : undefined;
    const bps = faults.bytesPerSecond;
    const stream = fs.createReadStream(file.abs, { start, end, highWaterMark: 256 * 1024 });
    res.on('close', () => stream.destroy());
    if (!dropHere && !stallHere && corrupt === undefined && !bps) {
      stream.on('data', (chunk) => count(chunk.length));
      stream.pipe(res);
      return;
    }
    // Faulty path: chunk by chunk, with a byte budget, a flipped byte and pacing.
    let sent = 0;
    let position = start;
    const budget = dropHere ? drop.bytes : stallHere ? stall.bytes : Infinity;
    const pace = (n: number) => (bps ? new Promise<void>((r) => setTimeout(r, Math.max(1, (n / bps) * 1000))) : Promise.resolve());
    void (async () => {
      try {
        for await (const raw of stream) {
          let chunk = raw as Buffer;
          if (corrupt !== undefined && corrupt >= position && corrupt < position + chunk.length) {
            chunk = Buffer.from(chunk);
            chunk[corrupt - position] = chunk[corrupt - position]! ^ 0xff;
          }
          position += chunk.length;
          const pieces = bps ? splitBuffer(chunk, Math.max(1, Math.floor(bps / 20))) : [chunk];
          for (const piece of pieces) {
            const allowed = Math.min(piece.length, budget - sent);
            if (allowed > 0) {
              const part = allowed === piece.length ? piece : piece.subarray(0, allowed);
              const ok = res.write(part);
              sent += part.length;
              count(part.length);
              if (!ok) await drained(res);
            }
            if (sent >= budget && stallHere) {
              // Keep the connection open and send nothing more (until the client gives up).
              stream.destroy();
              return;
            }
            if (sent >= budget) {
              // Let the bytes leave, then cut the connection mid-body.
              await new Promise<void>((r) => setTimeout(r, 20));
              res.socket?.destroy();
              stream.destroy();
              return;
            }
            if (res.destroyed) return;
            await pace(piece.length);
          }
        }
        res.end();
      } catch {
        res.destroy();
      }
    })();
  };

  // ---- start ------------------------------------------------------------------------------

  await listen(hub);
  await listen(cdn);
  endpoint = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
  cdnOrigin = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`;

  return {
    endpoint,
    cdnOrigin,
    stats,
    setFaults,
    setHostile(h) {
      hostile = { ...h };
    },
    bytesServed: (repo, filePath) => stats.bytesServed[`${repos.get(repo.toLowerCase())?.id ?? repo}/${filePath}`] ?? 0,
    openBodies: () => openBodies,
    resetStats() {
      stats.requests.length = 0;
      for (const k of Object.keys(stats.bytesServed)) delete stats.bytesServed[k];
      stats.failed503 = 0;
      stats.cdnAuthorized = 0;
    },
    repoInfo(repo) {
      const r = repos.get(repo.toLowerCase());
      if (!r) throw new Error(`No repo ${repo} in the emulator`);
      return { commit: r.commit, files: r.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256, oid: f.oid, lfs: f.lfs })) };
    },
    async close() {
      for (const s of [hub, cdn]) s.closeAllConnections();
      await Promise.all([hub, cdn].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

// ---------------------------------------------------------------------------------------------

function dec(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function listen(server: http.Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
}

/** Resolves when the response can take more (or is gone). */
function drained(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function splitBuffer(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

/** express-style weak ETag, as the Hub sends on its JSON and error answers. */
export function weakEtag(body: string | Buffer): string {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  return `W/"${buf.length.toString(16)}-${crypto.createHash('sha1').update(buf).digest('base64').slice(0, 27)}"`;
}

/** git blob sha1. */
export function gitOid(content: Buffer): string {
  return crypto.createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

/** The git-lfs pointer file of a file with this sha256 and size. */
export function lfsPointer(sha256: string, size: number): string {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`;
}

async function hashFile(abs: string, size: number): Promise<{ sha256: string; sha1: string }> {
  const sha256 = crypto.createHash('sha256');
  const sha1 = crypto.createHash('sha1').update(`blob ${size}\0`);
  for await (const chunk of fs.createReadStream(abs, { highWaterMark: 1024 * 1024 })) {
    sha256.update(chunk as Buffer);
    sha1.update(chunk as Buffer);
  }
  return { sha256: sha256.digest('hex'), sha1: sha1.digest('hex') };
}

async function loadRepo(id: string, spec: EmulatorRepo, lfsThreshold: number): Promise<RepoState> {
  const root = path.resolve(spec.folder);
  const files: FileInfo[] = [];
  const dirs: string[] = [];
  const walk = async (rel: string) => {
    const entries = await fs.promises.readdir(path.join(root, rel), { withFileTypes: true });
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        dirs.push(r);
        await walk(r);
      } else if (e.isFile()) {
        const abs = path.join(root, r);
        const size = (await fs.promises.stat(abs)).size;
        const { sha256, sha1 } = await hashFile(abs, size);
        const lfs = size >= lfsThreshold;
        const pointer = lfsPointer(sha256, size);
        files.push({ path: r, abs, size, sha256, oid: lfs ? gitOid(Buffer.from(pointer)) : sha1, lfs, pointerSize: Buffer.byteLength(pointer) });
      }
    }
  };
  await walk('');
  files.sort((a, b) => (a.path < b.path ? -1 : 1));
  dirs.sort();
  const commit =
    spec.commit ??
    crypto
      .createHash('sha1')
      .update(id)
      .update(files.map((f) => `${f.path}\0${f.oid}`).join('\n'))
      .digest('hex');
  if (!/^[0-9a-f]{40}$/.test(commit)) throw new Error(`Emulator repo ${id}: commit must be 40 hex digits`);
  const [owner] = id.split('/');
  return {
    id,
    owner: owner ?? id,
    spec,
    commit,
    files,
    byPath: new Map(files.map((f) => [f.path, f])),
    dirs,
    createdAt: '2025-01-15T10:00:00.000Z',
  };
}
