// Registers the studio:// scheme (privileged, standard, secure) and serves it through
// transport/studio-protocol.ts. No file:// URL is ever loaded.
import { protocol } from 'electron';
import { APP_SCHEME } from '../transport/security';
import { handleStudioUrl, type StudioProtocolContext } from '../transport/studio-protocol';

/** Must run before app 'ready'. */
export function registerStudioScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true, codeCache: true } },
  ]);
}

export function handleStudioProtocol(ctx: () => StudioProtocolContext): void {
  protocol.handle(APP_SCHEME, (request) => handleStudioUrl(request.url, ctx(), request.method));
}
