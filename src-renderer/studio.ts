// The client chosen at start, shared by every store.
import type { StudioClient } from '../src-shared/api';

let client: StudioClient | undefined;

export function setStudio(c: StudioClient): void {
  client = c;
}

export function studio(): StudioClient {
  if (!client) throw new Error('The studio client is not ready yet');
  return client;
}
