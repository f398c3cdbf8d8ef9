// The CLI under a Node older than the one its native modules were built for (better-sqlite3 is not
// N-API): one sentence that says what to do instead of the loader's NODE_MODULE_VERSION text.
import { StudioError } from '../../src-shared/errors';

/** The Node major version the studio's native modules are built for (.nvmrc). */
export const REQUIRED_NODE_MAJOR = 24;

/** A StudioError in place of a native module's ABI mismatch (plain Node only); undefined for anything else. */
export function nodeVersionError(err: unknown, versions: NodeJS.ProcessVersions = process.versions): StudioError | undefined {
  if (versions.electron) return undefined;
  const message = err instanceof Error ? err.message : String(err);
  if (!/NODE_MODULE_VERSION/.test(message)) return undefined;
  return new StudioError(
    'unavailable',
    `The CLI needs Node ${REQUIRED_NODE_MAJOR} (this is Node ${versions.node}) — \`source scripts/ci/use-node.sh\`, then run the command again.`,
    { node: versions.node, required: REQUIRED_NODE_MAJOR },
  );
}
