// A contender for core/lock.ts in its own process (the takeover-race test). Run with
// `node --import tsx lock-contender.ts <lock file>`: prints `ready`, waits for `go` on stdin, tries the lock once
// and prints {"primary":…,"tookOverStale":…}; a holder keeps the lock until the parent kills it.
import { acquireLock } from '../core/lock';

const file = process.argv[2];
if (!file) throw new Error('usage: lock-contender <lock file>');
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  input += chunk;
  if (!input.includes('go')) return;
  process.stdin.removeAllListeners('data');
  const lock = acquireLock(file);
  process.stdout.write(`${JSON.stringify({ primary: lock.primary, tookOverStale: lock.tookOverStale })}\n`);
  // Holder or not, stay alive until killed: every holder counts at once.
  setInterval(() => undefined, 60_000);
});
process.stdout.write('ready\n');
