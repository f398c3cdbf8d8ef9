// The URL formats (src-shared/media-urls.ts): what the renderer builds is what the transports parse.
import { describe, expect, it } from 'vitest';
import { WS_PATH, browserMediaUrl, parseMediaPath, studioMediaUrl, wsUrl } from './media-urls';

describe('media and WebSocket URLs', () => {
  it('browser media URLs carry the token and the thumbnail size, and parse back to kind and id', () => {
    const image = new URL(browserMediaUrl('image', 42, undefined, 'a b'), 'http://127.0.0.1:5000');
    expect(image.pathname).toBe('/media/image/42');
    expect([...image.searchParams]).toEqual([['token', 'a b']]);
    const thumb = new URL(browserMediaUrl('thumb', 7, 512, 'tok'), 'http://127.0.0.1:5000');
    expect([...thumb.searchParams]).toEqual([
      ['size', '512'],
      ['token', 'tok'],
    ]);
    expect(parseMediaPath(image.pathname)).toEqual({ kind: 'image', rawId: '42' });
    expect(parseMediaPath(thumb.pathname)).toEqual({ kind: 'thumb', rawId: '7' });
    expect(parseMediaPath('/media/image/42/extra')).toEqual({ kind: '', rawId: '' }); // refused downstream
    expect(parseMediaPath('/api/call')).toBeUndefined();
  });

  it('app media URLs (studio://) and the WebSocket URL', () => {
    expect(studioMediaUrl('image', 3)).toBe('studio://image/3');
    expect(studioMediaUrl('thumb', 3)).toBe('studio://thumb/3?size=256');
    const ws = new URL(wsUrl('https:', 'localhost:8443', 't/k'));
    expect([ws.protocol, ws.host, ws.pathname, ws.searchParams.get('token')]).toEqual(['wss:', 'localhost:8443', WS_PATH, 't/k']);
    expect(wsUrl('http:', '127.0.0.1:1', 'x').startsWith('ws://127.0.0.1:1/ws?')).toBe(true);
  });
});
