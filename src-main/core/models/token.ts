// The Hugging Face token: HF_TOKEN, else the studio's stored token (secret store), else Hugging
// Face's own token file. Stored after a shape check, never echoed, checked with GET /api/whoami-v2.
import fs from 'node:fs';
import { StudioError } from '../../../src-shared/errors';
import { HF_TOKEN_PATTERN, type TokenStatus } from '../../../src-shared/schemas/models';
import type { SecretStore } from '../adapters';
import { hfTokenFile } from '../node-adapters';
import type { HubClient } from './hub';

export const HF_TOKEN_SECRET = 'hf_token';

export type TokenSource = 'env' | 'stored' | 'hf-token-file';

export class HfToken {
  constructor(
    private readonly secrets: SecretStore,
    private readonly env: NodeJS.ProcessEnv,
    /** The hub client is built with this token getter, so it arrives after construction. */
    private readonly hub: () => HubClient,
  ) {}

  /** Stores the token in the secret store, then checks it. The token is never echoed. */
  async set(token: string): Promise<TokenStatus> {
    const t = token.trim();
    if (!HF_TOKEN_PATTERN.test(t)) {
      throw new StudioError('invalid_input', 'That does not look like a Hugging Face token (one word of letters and digits, usually starting with "hf_").');
    }
    await this.secrets.set(HF_TOKEN_SECRET, t);
    return this.status();
  }

  /**
   * Forgets the studio's own stored token. When the store is a file other tools share
   * (huggingface-cli's token file under plain Node) it is left alone unless `sharedFile` asks for it.
   */
  async clear(options: { sharedFile?: boolean } = {}): Promise<TokenStatus> {
    const shared = this.secrets.sharedFile;
    if (shared && !options.sharedFile) {
      const status = await this.status();
      if (status.source === 'none') return status;
      return {
        ...status,
        message:
          `${status.message} The token is kept in Hugging Face's shared token file (${shared}), which huggingface-cli and other ` +
          'Hugging Face tools use too, so it was left in place. Remove it there explicitly (clear with "also the shared file") to sign them out as well.',
      };
    }
    await this.secrets.delete(HF_TOKEN_SECRET);
    return this.status();
  }

  /** Which token is in use and whether Hugging Face accepts it (GET /api/whoami-v2). */
  async status(): Promise<TokenStatus> {
    const hub = this.hub();
    const storage = this.secrets.description;
    const warning = this.secrets.warning();
    const sharedFile = this.secrets.sharedFile;
    const base = { storage, ...(sharedFile ? { sharedFile } : {}), ...(warning ? { warning } : {}) };
    const current = await this.current();
    if (!current) {
      return {
        ...base,
        source: 'none',
        state: 'none',
        message: `No Hugging Face token is set. Gated models need one: create a read token at ${hub.tokenSettingsUrl()} and set it here.`,
      };
    }
    const from =
      current.source === 'env' ? 'HF_TOKEN' : current.source === 'stored' ? storage : `the Hugging Face token file (${hfTokenFile(this.env)})`;
    try {
      const who = await hub.whoami(current.token);
      return {
        ...base,
        source: current.source,
        state: 'valid',
        user: who.name,
        ...(who.tokenName ? { tokenName: who.tokenName } : {}),
        message: `Signed in to Hugging Face as ${who.name} (token from ${from}).`,
      };
    } catch (err) {
      const e = StudioError.from(err);
      if (e.code === 'auth_rejected') {
        return { ...base, source: current.source, state: 'rejected', message: `${e.message} (The token comes from ${from}.)` };
      }
      return {
        ...base,
        source: current.source,
        state: 'unverified',
        message: `A token is set (from ${from}) but could not be checked: ${e.message}`,
      };
    }
  }

  /** HF_TOKEN, then the stored token, then Hugging Face's own token file. */
  async current(): Promise<{ token: string; source: TokenSource } | undefined> {
    const env = this.env.HF_TOKEN?.trim();
    if (env) return { token: env, source: 'env' };
    const stored = (await this.secrets.get(HF_TOKEN_SECRET).catch(() => undefined))?.trim();
    if (stored) return { token: stored, source: 'stored' };
    try {
      const file = (await fs.promises.readFile(hfTokenFile(this.env), 'utf8')).trim();
      if (file) return { token: file, source: 'hf-token-file' };
    } catch {
      /* no token file */
    }
    return undefined;
  }
}
