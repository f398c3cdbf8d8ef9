// Secrets in the app: encrypted with Electron safeStorage (OS keychain / DPAPI / libsecret) and
// kept as ciphertext under <userData>/secrets/. On Linux without a keyring safeStorage falls back to
// a fixed key ("basic_text"): we say so.
import fs from 'node:fs';
import path from 'node:path';
import { safeStorage } from 'electron';
import type { SecretStore } from '../core/adapters';

export function safeStorageSecrets(dir: string): SecretStore {
  const file = (name: string) => path.join(dir, `${name.replace(/[^a-z0-9_-]/gi, '_')}.bin`);
  return {
    description: 'OS keychain (Electron safeStorage)',
    warning() {
      if (!safeStorage.isEncryptionAvailable()) return 'No OS keychain is available: the token cannot be stored encrypted.';
      if (process.platform === 'linux') {
        const backend = safeStorage.getSelectedStorageBackend();
        if (backend === 'basic_text') return 'No keyring found (GNOME Keyring or KWallet): the token is stored with a fixed key, which is not secure.';
      }
      return undefined;
    },
    async get(name) {
      try {
        return safeStorage.decryptString(await fs.promises.readFile(file(name)));
      } catch {
        return undefined;
      }
    },
    async set(name, value) {
      await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
      await fs.promises.writeFile(file(name), safeStorage.encryptString(value), { mode: 0o600 });
    },
    async delete(name) {
      await fs.promises.rm(file(name), { force: true });
    },
  };
}
