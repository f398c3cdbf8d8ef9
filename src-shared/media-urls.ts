// THE URL formats between the renderer and the main process, declared once: images and thumbnails by id
// (studio://<kind>/<id> in the app, /media/<kind>/<id>?token=… in browser mode) and browser mode's WebSocket
// (/ws?token=…). The renderer builds them from here and the transports parse them with the same constants.

export type MediaKind = 'image' | 'thumb';
export type ThumbSize = 256 | 512;

/** Browser mode's media path prefix (/media/<kind>/<id>). */
export const MEDIA_PATH_PREFIX = '/media/';
/** Browser mode's WebSocket path. */
export const WS_PATH = '/ws';

const sizeQuery = (kind: MediaKind, size: ThumbSize | undefined): string => (kind === 'thumb' ? `size=${size ?? 256}` : '');

/** The desktop app's URL of an image or thumbnail (shell/protocol.ts serves it). */
export function studioMediaUrl(kind: MediaKind, id: number, size?: ThumbSize): string {
  const q = sizeQuery(kind, size);
  return `studio://${kind}/${id}${q ? `?${q}` : ''}`;
}

/** Browser mode's URL of an image or thumbnail (transport/http.ts serves it, with the studio token). */
export function browserMediaUrl(kind: MediaKind, id: number, size: ThumbSize | undefined, token: string): string {
  const q = sizeQuery(kind, size);
  return `${MEDIA_PATH_PREFIX}${kind}/${id}?${q ? `${q}&` : ''}token=${encodeURIComponent(token)}`;
}

/** Browser mode's WebSocket URL on the page's own host (`protocol` is location.protocol). */
export function wsUrl(protocol: string, host: string, token: string): string {
  return `${protocol === 'https:' ? 'wss:' : 'ws:'}//${host}${WS_PATH}?token=${encodeURIComponent(token)}`;
}

/** /media/<kind>/<id> → its two parts as sent (checked by transport/media.ts), or undefined for another path. */
export function parseMediaPath(pathname: string): { kind: string; rawId: string } | undefined {
  if (!pathname.startsWith(MEDIA_PATH_PREFIX)) return undefined;
  const parts = pathname.slice(MEDIA_PATH_PREFIX.length).split('/');
  if (parts.length !== 2) return { kind: '', rawId: '' };
  return { kind: parts[0]!, rawId: parts[1]! };
}
