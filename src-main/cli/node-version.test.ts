import { describe, expect, it } from 'vitest';
import { nodeVersionError } from './node-version';

const ABI_ERROR = new Error(
  "The module '/x/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\nwas compiled against a different Node.js version using\n" +
    'NODE_MODULE_VERSION 137. This version of Node.js requires\nNODE_MODULE_VERSION 115. Please try re-compiling or re-installing',
);

describe('nodeVersionError', () => {
  it('turns the loader\'s NODE_MODULE_VERSION text into "needs Node 24 — source scripts/ci/use-node.sh"', () => {
    const e = nodeVersionError(ABI_ERROR, { ...process.versions, node: '20.20.2' });
    expect(e?.code).toBe('unavailable');
    expect(e?.message).toContain('needs Node 24 (this is Node 20.20.2)');
    expect(e?.message).toContain('`source scripts/ci/use-node.sh`');
    expect(e?.message).not.toContain('NODE_MODULE_VERSION');
  });

  it('leaves other errors, and Electron (its own ABI story), alone', () => {
    expect(nodeVersionError(new Error('disk full'))).toBeUndefined();
    expect(nodeVersionError(ABI_ERROR, { ...process.versions, electron: '42.0.0' })).toBeUndefined();
  });
});
