// Where the shared real-data fixtures live: $SD35_FIXTURES, else ../shared/fixtures beside the checkout.
// A checkout without them (a fresh clone) runs green: the tests that need them skip and print why.
import fs from 'node:fs';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The fixture root. SD35_FIXTURES set to a folder that does not exist (e.g. /nonexistent) means "absent". */
export function fixturesDir(): string {
  return path.resolve(process.env.SD35_FIXTURES || path.join(REPO_ROOT, '..', 'shared', 'fixtures'));
}

/** Path of a fixture, or undefined (tests that need it skip and say why: see fixtureFor). */
export function fixturePath(...parts: string[]): string | undefined {
  const p = path.join(fixturesDir(), ...parts);
  return fs.existsSync(p) ? p : undefined;
}

export function missingFixturesReason(what: string): string {
  return `${what} not found under ${fixturesDir()} (set SD35_FIXTURES to a copy of shared/fixtures)`;
}

/**
 * Path of a fixture that some tests need; when it is absent, prints once which tests skip and why
 * (`[suite] skipping <what>: <fixture> not found under …`), so a run without fixtures says what it left out.
 */
export function fixtureFor(suite: string, what: string, ...parts: string[]): string | undefined {
  const p = fixturePath(...parts);
  if (!p) console.warn(`[${suite}] skipping ${what}: ${missingFixturesReason(parts.join('/'))}`);
  return p;
}
