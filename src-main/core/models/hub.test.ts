import { describe, expect, it } from 'vitest';
import { authRequired, encodePath, hubError, nextLink } from './hub';

const info = { page: 'https://huggingface.co/o/r', tokens: 'https://huggingface.co/settings/tokens', what: 'download x' };
const anon = { repo: 'o/r', revision: 'main', path: 'unet/model.onnx', hadToken: false };
const authed = { ...anon, hadToken: true };

describe('hubError', () => {
  it.each([
    // status, X-Error-Code, token?, expected code, text in the message
    [401, 'RepoNotFound', false, 'not_found', 'not found or private'],
    [401, undefined, false, 'not_found', 'not found or private'],
    [404, 'RepoNotFound', true, 'not_found', 'not found or private'],
    [404, 'RevisionNotFound', false, 'not_found', 'revision "main" does not exist'],
    [404, 'EntryNotFound', true, 'not_found', 'unet/model.onnx is not in o/r'],
    [401, 'GatedRepo', false, 'auth_required', 'this model requires accepting its licence on Hugging Face and a token'],
    [403, 'GatedRepo', false, 'auth_required', 'https://huggingface.co/o/r'],
    [401, 'GatedRepo', true, 'auth_rejected', 'rejected the token'],
    [401, undefined, true, 'auth_rejected', 'https://huggingface.co/settings/tokens'],
    [403, 'GatedRepo', true, 'licence_not_accepted', 'accept the licence at https://huggingface.co/o/r'],
    [403, undefined, true, 'licence_not_accepted', 'accept the licence at'],
    [404, undefined, false, 'not_found', 'could not find'],
    [400, undefined, false, 'network', 'HTTP 400'],
  ] as const)('%i %s (token: %s) → %s', (status, code, hadToken, want, text) => {
    const err = hubError(status, code, hadToken ? authed : anon, info);
    expect(err.code).toBe(want);
    expect(err.message).toContain(text);
    expect(err.details).toMatchObject({ status, repo: 'o/r' });
  });

  it('auth_required names the licence page and the token page', () => {
    const err = authRequired('o/r', info.page, info.tokens);
    expect(err.exitCode).toBe(3);
    expect(err.message).toContain(info.page);
    expect(err.message).toContain(info.tokens);
  });
});

describe('nextLink', () => {
  it('finds rel="next" among several links and resolves it', () => {
    const base = 'https://huggingface.co/api/models/o/r/tree/abc?recursive=true';
    expect(nextLink('<https://huggingface.co/api/models/o/r/tree/abc?recursive=true&cursor=Zm9v>; rel="next"', base)).toBe(
      'https://huggingface.co/api/models/o/r/tree/abc?recursive=true&cursor=Zm9v',
    );
    expect(nextLink('</x?cursor=1>; rel="prev", </x?cursor=3>; rel=next', base)).toBe('https://huggingface.co/x?cursor=3');
    expect(nextLink('</x?cursor=1>; rel="prev"', base)).toBeUndefined();
    expect(nextLink(null, base)).toBeUndefined();
  });

  it('encodes path segments but keeps the slashes', () => {
    expect(encodePath('vae copy/model #1.onnx')).toBe('vae%20copy/model%20%231.onnx');
  });
});
