// Where the shared real-data fixtures live: $SD35_FIXTURES, else ../shared/fixtures beside the checkout.
import fs from 'node:fs';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export function fixturesDir(): string {
  return path.resolve(process.env.SD35_FIXTURES ?? path.join(REPO_ROOT, '..', 'shared', 'fixtures'));
}

/** Path of a fixture, or undefined (tests that need it skip and say why). */
export function fixturePath(...parts: string[]): string | undefined {
  const p = path.join(fixturesDir(), ...parts);
  return fs.existsSync(p) ? p : undefined;
}

export function missingFixturesReason(what: string): string {
  return `${what} not found under ${fixturesDir()} (set SD35_FIXTURES to a copy of shared/fixtures)`;
}
