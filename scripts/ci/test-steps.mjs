// @ts-check
// The steps of `npm test`, in order, and what to say when one fails: every later step is named, and the e2e
// specs that did not run are counted, so a red vitest run never hides how much of the e2e suite was skipped.
import fs from 'node:fs';
import path from 'node:path';

/** @typedef {{ name: string; command: string; args: string[]; e2e?: 'browser' | 'electron' }} Step */

/** @type {Step[]} */
export const STEPS = [
  { name: 'typecheck', command: 'npm', args: ['run', '-s', 'typecheck'] },
  { name: 'lint', command: 'npm', args: ['run', '-s', 'lint'] },
  { name: 'build', command: 'npm', args: ['run', '-s', 'build'] },
  { name: 'vitest (unit and integration)', command: 'npx', args: ['vitest', 'run'] },
  { name: 'e2e (browser, and Electron where it can run)', command: 'npm', args: ['run', '-s', 'test:e2e'], e2e: 'browser' },
  { name: 'Electron e2e under xvfb (when test:e2e had to skip it)', command: 'node', args: ['scripts/packaging/test-electron.mjs', '--after-e2e'], e2e: 'electron' },
];

/**
 * The spec files of e2e/<kind>/ (recursively).
 * @param {string} root
 * @param {'browser' | 'electron'} kind
 * @returns {string[]}
 */
export function e2eSpecs(root, kind) {
  const dir = path.join(root, 'e2e', kind);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.spec.ts'))
    .sort();
}

/**
 * What did not run after step `failed` failed.
 * @param {Step[]} steps
 * @param {number} failed index of the failed step
 * @param {{ browser: number; electron: number }} specs e2e spec files per kind
 * @returns {string}
 */
export function notRunReport(steps, failed, specs) {
  const rest = steps.slice(failed + 1);
  const lines = [`npm test: "${steps[failed]?.name}" failed.`];
  if (rest.length === 0) return lines.join('\n');
  lines.push(`Not run because of it: ${rest.map((s) => s.name).join('; ')}.`);
  // test:e2e runs the browser specs and, where Electron can start, the Electron ones (else the xvfb pass does):
  // when it did not run, none of them did. Once it ran, Playwright's own report says what passed.
  if (rest.some((s) => s.e2e === 'browser')) {
    lines.push(`${specs.browser + specs.electron} e2e spec files did not run (${specs.browser} browser, ${specs.electron} Electron).`);
  }
  return lines.join('\n');
}
