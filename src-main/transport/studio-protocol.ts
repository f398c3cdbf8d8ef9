// The studio:// protocol of the Electron app, as a pure request → Response function (tested under
// Node; protocol.ts registers it with Electron):
//   studio://app/<file>            the built renderer, with the Content-Security-Policy header
//   studio://image/<id>            a gallery image, by id only
//   studio://thumb/<id>?size=256   its thumbnail (256 or 512)
// Anything else, any path-looking id, and any file outside its folder (after symlinks) is a 404.
import fs from 'node:fs';
import { StudioError } from '../../src-shared/errors';
import type { MediaSource } from '../core/media';
import { SECURITY_HEADERS, contentSecurityPolicy } from './security';
import { resolveMedia } from './media';
import { resolveStatic } from './static';

export interface StudioProtocolContext {
  rendererDir: string;
  dataRoot: string;
  media: MediaSource;
}

function notFound(): Response {
  return new Response('Not found', { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS } });
}

export async function handleStudioUrl(rawUrl: string, ctx: StudioProtocolContext, method = 'GET'): Promise<Response> {
  if (method !== 'GET' && method !== 'HEAD') return new Response('Method not allowed', { status: 405 });
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return notFound();
  }
  if (url.protocol !== 'studio:') return notFound();
  try {
    if (url.host === 'app') {
      const file = await resolveStatic(ctx.rendererDir, url.pathname);
      const body = method === 'HEAD' ? null : await fs.promises.readFile(file.path);
      return new Response(body, {
        status: 200,
        headers: { 'Content-Type': file.contentType, 'Content-Security-Policy': contentSecurityPolicy('electron'), ...SECURITY_HEADERS },
      });
    }
    if (url.host === 'image' || url.host === 'thumb') {
      const segments = url.pathname.split('/').filter(Boolean);
      if (segments.length !== 1) return notFound();
      const file = await resolveMedia(ctx.dataRoot, ctx.media, url.host, segments[0]!, url.searchParams.get('size'));
      const body = method === 'HEAD' ? null : await fs.promises.readFile(file.path);
      return new Response(body, {
        status: 200,
        headers: { 'Content-Type': file.contentType, 'Cache-Control': 'private, max-age=3600', ...SECURITY_HEADERS },
      });
    }
  } catch (err) {
    if (err instanceof StudioError || (err as NodeJS.ErrnoException).code === 'ENOENT') return notFound();
    return new Response('Internal error', { status: 500 });
  }
  return notFound();
}
