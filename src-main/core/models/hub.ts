// The Hugging Face Hub HTTP API, as the Hub speaks it (docs/architecture.md §4):
//   GET  {endpoint}/api/models/{repo}/revision/{rev}          → { id, sha, gated, private, … }
//   GET  {endpoint}/api/models/{repo}/tree/{commit}?recursive=true   (Link: <…>; rel="next")
//   GET|HEAD {endpoint}/{repo}/resolve/{commit}/{path}       → 200 (small) or 302 → CDN (LFS)
//   GET  {endpoint}/api/whoami-v2
// Errors are told apart by X-Error-Code (GatedRepo, RepoNotFound, RevisionNotFound,
// EntryNotFound), not by status alone. The token goes only to the Hub's own origin, never to the
// CDN, and never into a message.
import { parseRepoRef } from '../../../src-shared/catalog';
import { StudioError } from '../../../src-shared/errors';
import { DEFAULT_RETRY, TransientError, parseRetryAfter, withRetries, type RetryNotice, type RetryPolicy } from './retry';
import { fetchTransport, nodeTransport, readText, type FileResponse, type FileTransport } from './transport';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

export interface HubClientOptions {
  /** HF_ENDPOINT, else https://huggingface.co */
  endpoint?: string;
  /** Called for every request: the token to send, if any. */
  token?: () => Promise<string | undefined>;
  userAgent: string;
  fetch?: typeof fetch;
  /** Per API request (headers and body); file bodies are watched by the downloader instead. */
  requestTimeoutMs?: number;
  retry?: RetryPolicy;
  onRetry?: (notice: RetryNotice & { what: string }) => void;
}

export type GatedMode = false | 'auto' | 'manual';

export interface RevisionInfo {
  /** The canonical repo id (the Hub redirects renamed repos). */
  repo: string;
  commit: string;
  gated: GatedMode;
  private: boolean;
}

export interface TreeEntry {
  path: string;
  size: number;
  /** git blob sha1 (of the LFS pointer for LFS files). */
  oid: string;
  /** sha256 of the content, for LFS files. */
  lfsSha256?: string;
}

export interface WhoAmI {
  name: string;
  fullname?: string;
  /** The token's own name and role, when the Hub says. */
  tokenName?: string;
  tokenRole?: string;
}

export interface OpenedFile {
  response: FileResponse;
  /** Where the bytes came from (a signed CDN URL for LFS files): reuse it for Range requests until it expires. */
  url: string;
  /** True when the bytes come from another origin than the Hub (the CDN). */
  cdn: boolean;
  /** X-Linked-Etag / X-Linked-Size of the 302, when the file was redirected. */
  linkedEtag?: string;
  linkedSize?: number;
  repoCommit?: string;
}

export interface RangeRequest {
  /** First byte wanted; 0 for the whole file. */
  offset?: number;
  /** The validator of the bytes already held (a strong ETag), sent as If-Range. */
  ifRange?: string;
  signal?: AbortSignal;
}

/** A signed CDN URL that the CDN refused (expired): resolve again through the Hub. */
export class ExpiredUrlError extends Error {
  override readonly name = 'ExpiredUrlError';
  constructor(readonly status: number) {
    super(`the download link expired or was refused (HTTP ${status})`);
  }
}

interface ErrorContext {
  repo: string;
  revision?: string;
  path?: string;
  hadToken: boolean;
}

const MAX_REDIRECTS = 5;
const MAX_TREE_PAGES = 1_000;
/** Files one repo may list (the SD3 exports have about 40). */
const MAX_TREE_ENTRIES = 100_000;
/** An API answer (one tree page, the model info) may be this large; read as it streams. */
export const MAX_API_BODY_BYTES = 32 * 1024 * 1024;
/** Of an error answer, only this much is read. */
const MAX_ERROR_BODY_BYTES = 4096;
const SHA1 = /^[0-9a-f]{40}$/;

export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** The repo id in a URL: owner and name encoded separately, the slash kept. */
function encodeRepo(repo: string): string {
  return repo.split('/').map(encodeURIComponent).join('/');
}

export class HubClient {
  readonly endpoint: string;
  private readonly origin: string;
  private readonly fetchImpl: typeof fetch;
  private readonly transport: FileTransport;
  private readonly requestTimeoutMs: number;
  private readonly retry: RetryPolicy;

  constructor(private readonly opts: HubClientOptions) {
    this.endpoint = (opts.endpoint || DEFAULT_ENDPOINT).replace(/\/+$/, '');
    this.origin = new URL(this.endpoint).origin;
    this.fetchImpl = opts.fetch ?? fetch;
    this.transport = opts.fetch ? fetchTransport(opts.fetch) : nodeTransport;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.retry = opts.retry ?? DEFAULT_RETRY;
  }

  /** The model page (where a gated model's licence is accepted). */
  modelPageUrl(repo: string): string {
    return `${this.endpoint}/${repo}`;
  }

  tokenSettingsUrl(): string {
    return `${this.endpoint}/settings/tokens`;
  }

  resolveUrl(repo: string, commit: string, path: string): string {
    return `${this.endpoint}/${encodeRepo(repo)}/resolve/${encodeURIComponent(commit)}/${encodePath(path)}`;
  }

  /** The commit a revision (branch, tag or sha) points at, and whether the repo is gated. */
  async revision(repo: string, rev: string, signal?: AbortSignal): Promise<RevisionInfo> {
    const url = `${this.endpoint}/api/models/${encodeRepo(repo)}/revision/${encodeURIComponent(rev)}`;
    const { body, url: answeredBy, renamed } = await this.getJsonWithResponse(url, { repo, revision: rev }, 'read the model information', signal);
    if (typeof body !== 'object' || body === null) throw malformed(repo, 'revision');
    const b = body as Record<string, unknown>;
    const sha = b.sha;
    if (typeof sha !== 'string' || !SHA1.test(sha)) throw malformed(repo, 'revision');
    const gated = b.gated === 'auto' || b.gated === 'manual' ? b.gated : false;
    // The id becomes folder names: it must be a repo id, the one asked for, or the one the Hub's
    // documented 307 for a renamed repo pointed at.
    const expected = (renamed && this.repoOfApiUrl(answeredBy)) || repo;
    const id = b.id === undefined ? expected : b.id;
    if (typeof id !== 'string' || !isRepoId(id) || id.toLowerCase() !== expected.toLowerCase()) {
      throw new StudioError(
        'network',
        `${this.endpoint} answered for ${repo} with the repository id ${JSON.stringify(String(id).slice(0, 200))}, which is not ${expected}. ` +
          'Nothing was downloaded; check HF_ENDPOINT (the mirror may be misconfigured or hostile).',
        { repo, answeredId: String(id).slice(0, 200) },
      );
    }
    return { repo: id, commit: sha, gated, private: b.private === true };
  }

  /** `owner/name` of an API URL of the Hub's own origin (`/api/models/{owner}/{name}/…`). */
  private repoOfApiUrl(url: string): string | undefined {
    const u = new URL(url);
    if (u.origin !== this.origin) return undefined;
    const base = new URL(this.endpoint).pathname.replace(/\/+$/, '');
    const m = /^\/api\/models\/([^/]+)\/([^/]+)\//.exec(u.pathname.slice(base.length));
    if (!m) return undefined;
    const id = `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`;
    return isRepoId(id) ? id : undefined;
  }

  /** Every file of the repo at `commit` (recursive; follows Link pagination). */
  async tree(repo: string, commit: string, signal?: AbortSignal): Promise<TreeEntry[]> {
    let url: string | undefined = `${this.endpoint}/api/models/${encodeRepo(repo)}/tree/${encodeURIComponent(commit)}?recursive=true&expand=false`;
    const out: TreeEntry[] = [];
    for (let page = 0; url; page++) {
      if (page >= MAX_TREE_PAGES) throw new StudioError('network', `The file list of ${repo} did not end after ${MAX_TREE_PAGES} pages; refusing it.`);
      const pageUrl: string = url;
      const { body, response } = await this.getJsonWithResponse(pageUrl, { repo, revision: commit }, 'list the model files', signal);
      if (!Array.isArray(body)) throw malformed(repo, 'tree');
      for (const item of body as unknown[]) {
        const entry = parseTreeEntry(item, repo);
        if (!entry) continue;
        if (out.length >= MAX_TREE_ENTRIES) throw new StudioError('network', `${repo} lists more than ${MAX_TREE_ENTRIES} files; refusing its file list.`);
        out.push(entry);
      }
      const next = nextLink(response.headers.get('link'), pageUrl);
      // The next page goes where a redirect may go (https, or the http mirror's own host).
      url = next === undefined ? undefined : this.redirectTarget(next, pageUrl, 'list the model files');
    }
    return out;
  }

  /** Who the token belongs to; auth_rejected when the Hub refuses it. */
  async whoami(token?: string, signal?: AbortSignal): Promise<WhoAmI> {
    const t = token ?? (await this.opts.token?.());
    if (!t) throw new StudioError('auth_required', 'No Hugging Face token is set.');
    const url = `${this.endpoint}/api/whoami-v2`;
    const body = await withRetries(
      'check the Hugging Face token',
      async () => {
        const res = await this.request(url, { method: 'GET', token: t, signal, accept: 'application/json' });
        if (res.status === 401 || res.status === 403) {
          await res.body?.cancel();
          throw new StudioError(
            'auth_rejected',
            `Hugging Face rejected the token (HTTP ${res.status}). Create a new read token at ${this.tokenSettingsUrl()} and set it again.`,
          );
        }
        if (!res.ok) throw await this.errorFor(fetchErrorSource(res), { repo: '', hadToken: true }, 'check the Hugging Face token');
        const text = await readCapped(res, MAX_API_BODY_BYTES, 'check the Hugging Face token');
        try {
          return JSON.parse(text) as unknown;
        } catch {
          throw new TransientError(`Hugging Face sent an unreadable answer (HTTP ${res.status})`);
        }
      },
      this.retryOptions('check the Hugging Face token', signal),
    );
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    if (typeof b.name !== 'string') throw new StudioError('internal', 'Hugging Face answered whoami without a name.');
    const auth = (b.auth ?? {}) as Record<string, unknown>;
    const access = (auth.accessToken ?? {}) as Record<string, unknown>;
    return {
      name: b.name,
      ...(typeof b.fullname === 'string' ? { fullname: b.fullname } : {}),
      ...(typeof access.displayName === 'string' ? { tokenName: access.displayName } : {}),
      ...(typeof access.role === 'string' ? { tokenRole: access.role } : {}),
    };
  }

  /**
   * HEAD of a file's resolve URL without following the redirect: checks access (gated repos answer
   * 401/403 here) and reads X-Linked-Size / X-Linked-Etag.
   */
  async head(repo: string, commit: string, path: string, signal?: AbortSignal): Promise<{ status: number; linkedSize?: number; linkedEtag?: string; repoCommit?: string }> {
    const url = this.resolveUrl(repo, commit, path);
    const token = await this.token();
    return withRetries(
      `check access to ${path}`,
      async () => {
        const res = await this.fileRequest(url, { method: 'HEAD', token, signal });
        res.cancel();
        if (res.status >= 400) throw await this.errorFor(fileErrorSource(res), { repo, revision: commit, path, hadToken: !!token }, `check access to ${path}`);
        return { status: res.status, ...linkedHeaders(res.headers) };
      },
      this.retryOptions(`check access to ${path}`, signal),
    );
  }

  /**
   * Opens a file's bytes (from `offset`), following the Hub's redirect to the CDN by hand so the
   * token is sent only to the Hub. One attempt: the caller retries transient failures.
   * The response status is 200 (whole file: also the answer when If-Range no longer matches),
   * 206 (the range) or 416.
   */
  async openFile(repo: string, commit: string, path: string, range: RangeRequest = {}): Promise<OpenedFile> {
    const token = await this.token();
    const ctx: ErrorContext = { repo, revision: commit, path, hadToken: !!token };
    let url = this.resolveUrl(repo, commit, path);
    let linked: ReturnType<typeof linkedHeaders> = {};
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const sameOrigin = new URL(url).origin === this.origin;
      const res = await this.fileRequest(url, { method: 'GET', token: sameOrigin ? token : undefined, signal: range.signal, range });
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        linked = { ...linked, ...linkedHeaders(res.headers) };
        res.cancel();
        url = this.redirectTarget(location, url, `download ${path}`);
        continue;
      }
      if ((res.status >= 200 && res.status < 300) || res.status === 416) {
        return { response: res, url, cdn: !sameOrigin, ...linkedHeaders(res.headers), ...linked };
      }
      if (!sameOrigin) throw await cdnError(res);
      throw await this.errorFor(fileErrorSource(res), ctx, `download ${path}`);
    }
    throw new StudioError('network', `Too many redirects while downloading ${path} from ${repo}.`);
  }

  /** A Range request to a URL from an earlier openFile (a signed CDN URL): no token is sent off-origin. */
  async openUrl(url: string, range: RangeRequest = {}): Promise<FileResponse> {
    const sameOrigin = new URL(url).origin === this.origin;
    const res = await this.fileRequest(url, { method: 'GET', token: sameOrigin ? await this.token() : undefined, signal: range.signal, range });
    if ((res.status >= 200 && res.status < 300) || res.status === 416) return res;
    throw await cdnError(res);
  }

  /** A file request (no redirects followed); the timeout covers the wait for the headers only. */
  private async fileRequest(
    url: string,
    o: { method: 'GET' | 'HEAD'; token?: string; signal?: AbortSignal; range?: RangeRequest },
  ): Promise<FileResponse> {
    const headers: Record<string, string> = { 'user-agent': this.opts.userAgent, 'accept-encoding': 'identity' };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    const offset = o.range?.offset ?? 0;
    if (offset > 0) {
      headers.range = `bytes=${offset}-`;
      if (o.range?.ifRange) headers['if-range'] = o.range.ifRange;
    }
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new TransientError(`no answer within ${Math.round(this.requestTimeoutMs / 1000)} s`)), this.requestTimeoutMs);
    const signal = o.signal ? AbortSignal.any([o.signal, timeout.signal]) : timeout.signal;
    try {
      return await this.transport(url, { method: o.method, headers, signal });
    } catch (err) {
      if (o.signal?.aborted) throw o.signal.reason ?? err;
      if (timeout.signal.aborted) throw timeout.signal.reason;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  // ------------------------------------------------------------------------------------------

  /**
   * Where a redirect may go: https anywhere; plain http only on the endpoint's own host, when the
   * endpoint itself is http (a local mirror and its file server). The token follows only to the
   * endpoint's origin (the callers decide that per hop).
   */
  private redirectTarget(location: string, from: string, what: string): string {
    let next: URL;
    try {
      next = new URL(location, from);
    } catch {
      throw new StudioError('network', `Hugging Face sent an unreadable redirect while trying to ${what}.`);
    }
    const endpoint = new URL(this.endpoint);
    const httpMirror = endpoint.protocol === 'http:' && next.protocol === 'http:' && next.hostname === endpoint.hostname;
    if (next.protocol !== 'https:' && !httpMirror) {
      throw new StudioError('network', `Refusing a redirect to ${next.origin} (not https) while trying to ${what}.`, { location: next.origin });
    }
    return next.toString();
  }

  private async token(): Promise<string | undefined> {
    const t = await this.opts.token?.();
    return t ? t.trim() || undefined : undefined;
  }

  private retryOptions(what: string, signal?: AbortSignal) {
    return {
      policy: this.retry,
      signal,
      onRetry: (n: RetryNotice) => this.opts.onRetry?.({ ...n, what }),
    };
  }

  private async getJsonWithResponse(
    url: string,
    ctx: Omit<ErrorContext, 'hadToken'>,
    what: string,
    signal?: AbortSignal,
  ): Promise<{ body: unknown; response: Response; url: string; renamed: boolean }> {
    const token = await this.token();
    return withRetries(
      what,
      async () => {
        let current = url;
        // True when every hop was the Hub's own 307 (a renamed repo).
        let renamed = false;
        for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
          const sameOrigin = new URL(current).origin === this.origin;
          const res = await this.request(current, { method: 'GET', token: sameOrigin ? token : undefined, signal, accept: 'application/json' });
          // A renamed repo answers 307 with a relative Location to its canonical id.
          if (res.status >= 300 && res.status < 400 && res.headers.has('location')) {
            await res.body?.cancel();
            const next = this.redirectTarget(res.headers.get('location')!, current, what);
            renamed = (hop === 0 || renamed) && res.status === 307 && sameOrigin && new URL(next).origin === this.origin;
            current = next;
            continue;
          }
          if (!res.ok) throw await this.errorFor(fetchErrorSource(res), { ...ctx, hadToken: !!token }, what);
          const text = await readCapped(res, MAX_API_BODY_BYTES, what);
          try {
            return { body: JSON.parse(text) as unknown, response: res, url: current, renamed };
          } catch {
            throw new TransientError(`Hugging Face sent an unreadable answer (HTTP ${res.status})`);
          }
        }
        throw new StudioError('network', `Too many redirects while trying to ${what} (${ctx.repo}).`);
      },
      this.retryOptions(what, signal),
    );
  }

  /** An API request through fetch (no redirects followed), with a whole-request timeout. */
  private async request(url: string, o: { method: 'GET' | 'HEAD'; token?: string; signal?: AbortSignal; accept?: string }): Promise<Response> {
    const headers: Record<string, string> = { 'user-agent': this.opts.userAgent, 'accept-encoding': 'identity' };
    if (o.accept) headers.accept = o.accept;
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new TransientError(`no answer within ${Math.round(this.requestTimeoutMs / 1000)} s`)), this.requestTimeoutMs);
    // The timer also bounds the body read of the API answer; it is unref'd and harmless once done.
    timer.unref?.();
    const signal = o.signal ? AbortSignal.any([o.signal, timeout.signal]) : timeout.signal;
    try {
      return await this.fetchImpl(url, { method: o.method, headers, redirect: 'manual', signal });
    } catch (err) {
      clearTimeout(timer);
      if (o.signal?.aborted) throw o.signal.reason ?? err;
      if (timeout.signal.aborted) throw timeout.signal.reason;
      throw err;
    }
  }

  /** Maps a Hub error answer to a StudioError (or a TransientError for 5xx/429). */
  private async errorFor(res: ErrorSource, ctx: ErrorContext, what: string): Promise<Error> {
    const code = res.headers.get('x-error-code') ?? undefined;
    // Read (a few kB at most) even when the header says it all: the answer is then released.
    const body = await res.readBody();
    const serverMessage = res.headers.get('x-error-message') ?? errorText(body);
    if (res.status === 429 || res.status >= 500) {
      return new TransientError(`Hugging Face answered HTTP ${res.status}`, parseRetryAfter(res.headers.get('retry-after')));
    }
    return hubError(res.status, code, ctx, {
      page: this.modelPageUrl(ctx.repo),
      tokens: this.tokenSettingsUrl(),
      what,
      ...(serverMessage ? { serverMessage } : {}),
    });
  }
}

/** An error answer, from fetch or from the file transport. */
interface ErrorSource {
  status: number;
  headers: { get(name: string): string | null };
  readBody(): Promise<string | undefined>;
}

function fetchErrorSource(res: Response): ErrorSource {
  return {
    status: res.status,
    headers: res.headers,
    readBody: () => readPrefix(res, MAX_ERROR_BODY_BYTES),
  };
}

function fileErrorSource(res: FileResponse): ErrorSource {
  return { status: res.status, headers: res.headers, readBody: () => readText(res, MAX_ERROR_BODY_BYTES) };
}

/** The body as text, read as it streams; more than `limit` bytes is refused (and the rest never read). */
async function readCapped(res: Response, limit: number, what: string): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge(limit, what);
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > limit) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge(limit, what);
      }
      parts.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(parts).toString('utf8');
}

function tooLarge(limit: number, what: string): StudioError {
  return new StudioError('network', `Hugging Face sent an answer larger than ${Math.round(limit / (1024 * 1024))} MB while trying to ${what}; refusing it.`);
}

/** At most the first `limit` bytes of a body, as text; the rest is cancelled unread. */
async function readPrefix(res: Response, limit: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    while (total < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      total += value.length;
    }
  } catch {
    /* a cut error body is still an error */
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(parts).toString('utf8').slice(0, limit);
}

/** The error for a Hub answer: X-Error-Code first, then the status (and whether a token was sent). */
export function hubError(
  status: number,
  code: string | undefined,
  ctx: ErrorContext,
  info: { page: string; tokens: string; what: string; serverMessage?: string },
): StudioError {
  const { repo } = ctx;
  const details: Record<string, unknown> = { status, repo, url: info.page, tokensUrl: info.tokens };
  if (code) details.hubErrorCode = code;
  const notFoundOrPrivate = () =>
    new StudioError(
      'not_found',
      `Model repository ${repo}: not found or private (${info.page}). Check the name` +
        (ctx.hadToken ? '; if it is private, your token has no access to it.' : '; if it is private, set a Hugging Face token that can read it.'),
      details,
    );
  if (code === 'RepoNotFound') return notFoundOrPrivate();
  if (code === 'RevisionNotFound') {
    return new StudioError(
      'not_found',
      `The revision "${ctx.revision ?? ''}" does not exist in ${repo} (${info.page}). Use a branch, tag or commit of that repository.`,
      details,
    );
  }
  if (code === 'EntryNotFound') {
    return new StudioError(
      'not_found',
      `The file ${ctx.path ?? '(unknown)'} is not in ${repo} at ${ctx.revision ?? 'that revision'} (${info.page}).`,
      details,
    );
  }
  if (status === 401) {
    if (!ctx.hadToken) {
      // The Hub answers an anonymous request for a missing or private repo with 401 too:
      // only GatedRepo means "a token is needed".
      if (code === 'GatedRepo') return authRequired(repo, info.page, info.tokens, details);
      return notFoundOrPrivate();
    }
    return new StudioError(
      'auth_rejected',
      `Hugging Face rejected the token while trying to ${info.what} (HTTP 401). Create a new read token at ${info.tokens} ` +
        `and set it again (Models → Hugging Face token, or HF_TOKEN).`,
      details,
    );
  }
  if (status === 403) {
    if (!ctx.hadToken) return authRequired(repo, info.page, info.tokens, details);
    return new StudioError(
      'licence_not_accepted',
      `Your Hugging Face token has no access to ${repo} yet: accept the licence at ${info.page} while logged in as the ` +
        `token's owner, then try again.`,
      details,
    );
  }
  if (status === 404) {
    return new StudioError('not_found', `Hugging Face could not find what was asked while trying to ${info.what} in ${repo} (${info.page}).`, details);
  }
  return new StudioError(
    'network',
    // The Hub's own words are quoted as such (the renderer shows them as plain text, never as links).
    `Hugging Face answered HTTP ${status} while trying to ${info.what} for ${repo}` + (info.serverMessage ? `; it said: "${info.serverMessage.slice(0, 200)}"` : '.'),
    details,
  );
}

export function authRequired(repo: string, page: string, tokens: string, details: Record<string, unknown> = {}): StudioError {
  return new StudioError(
    'auth_required',
    `${repo}: this model requires accepting its licence on Hugging Face and a token. Accept the licence at ${page}, ` +
      `create a read token at ${tokens} and set it (Models → Hugging Face token, or HF_TOKEN).`,
    { ...details, repo, url: page, tokensUrl: tokens },
  );
}

async function cdnError(res: FileResponse): Promise<Error> {
  res.cancel();
  if (res.status === 403 || res.status === 410 || res.status === 401 || res.status === 404) return new ExpiredUrlError(res.status);
  if (res.status === 429 || res.status >= 500) return new TransientError(`the download server answered HTTP ${res.status}`, parseRetryAfter(res.headers.get('retry-after')));
  return new TransientError(`the download server answered HTTP ${res.status}`);
}

/** The `error` of a JSON error body, or the text itself. */
function errorText(text: string | undefined): string | undefined {
  if (!text) return undefined;
  try {
    const j = JSON.parse(text) as unknown;
    if (typeof j === 'object' && j !== null && typeof (j as { error?: unknown }).error === 'string') return (j as { error: string }).error;
  } catch {
    /* plain text */
  }
  return text.trim() || undefined;
}

function linkedHeaders(headers: { get(name: string): string | null }): { linkedEtag?: string; linkedSize?: number; repoCommit?: string } {
  const out: { linkedEtag?: string; linkedSize?: number; repoCommit?: string } = {};
  const etag = headers.get('x-linked-etag');
  const size = headers.get('x-linked-size');
  const commit = headers.get('x-repo-commit');
  if (etag) out.linkedEtag = etag;
  if (size && /^\d+$/.test(size)) out.linkedSize = Number(size);
  if (commit) out.repoCommit = commit;
  return out;
}

function isRepoId(id: string): boolean {
  if (id.includes('@')) return false;
  try {
    return parseRepoRef(id).repo === id;
  } catch {
    return false;
  }
}

function malformed(repo: string, what: string): StudioError {
  return new StudioError('network', `Hugging Face sent an unexpected ${what} answer for ${repo}; try again later.`);
}

/**
 * One file of a tree answer; other entry types are skipped. A file entry with a hostile path or
 * size (a leading "/", NUL or other control characters, "." or ".." parts, a part over 255 bytes,
 * a negative, fractional or huge size) is refused here, with the entry named.
 */
export function parseTreeEntry(item: unknown, repo: string): TreeEntry | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const e = item as Record<string, unknown>;
  if (e.type !== 'file') return undefined;
  const refuse = (why: string) =>
    new StudioError('network', `Hugging Face listed a file of ${repo} that cannot be downloaded: ${describeEntry(e.path)} ${why}. Nothing was downloaded.`, {
      repo,
      entry: typeof e.path === 'string' ? e.path.slice(0, 300) : null,
    });
  if (typeof e.path !== 'string') throw refuse('has no path');
  const problem = treePathProblem(e.path);
  if (problem) throw refuse(problem);
  const lfs = e.lfs as Record<string, unknown> | undefined;
  const lfsOid = lfs && typeof lfs.oid === 'string' && /^[0-9a-f]{64}$/.test(lfs.oid) ? lfs.oid : undefined;
  const size = lfsOid && lfs!.size !== undefined ? lfs!.size : e.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw refuse(`has an invalid size (${String(size).slice(0, 40)})`);
  const entry: TreeEntry = { path: e.path, size, oid: typeof e.oid === 'string' ? e.oid : '' };
  if (lfsOid) entry.lfsSha256 = lfsOid;
  return entry;
}

function treePathProblem(p: string): string | undefined {
  if (p === '') return 'has an empty path';
  if (p.length > 4096) return 'has a path over 4096 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(p)) return 'has a control character (such as NUL) in its path';
  if (p.startsWith('/')) return 'has an absolute path';
  if (p.includes('\\')) return 'has a backslash in its path';
  for (const part of p.split('/')) {
    if (part === '' || part === '.' || part === '..') return 'has an empty, "." or ".." part in its path';
    if (Buffer.byteLength(part) > 255) return 'has a name over 255 bytes';
  }
  return undefined;
}

function describeEntry(p: unknown): string {
  if (typeof p !== 'string') return 'an entry';
  // eslint-disable-next-line no-control-regex
  const shown = p.slice(0, 120).replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return JSON.stringify(shown + (p.length > 120 ? '…' : ''));
}

/** The `rel="next"` target of a Link header, resolved against the current URL. */
export function nextLink(header: string | null, base: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (!m) continue;
    if (/(^|;)\s*rel\s*=\s*"?next"?\s*(;|$)/i.test(m[2]!)) return new URL(m[1]!, base).toString();
  }
  return undefined;
}
