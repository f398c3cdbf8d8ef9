#!/usr/bin/env node
// @ts-check
// `npm test`: typecheck, lint, build, vitest, the e2e specs, then the Electron specs under xvfb when needed
// (the steps: test-steps.mjs). Stops at the first failure and says which steps and how many e2e specs did
// not run because of it.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { STEPS, e2eSpecs, notRunReport } from './test-steps.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
for (const [i, step] of STEPS.entries()) {
  const r = spawnSync(step.command, step.args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) {
    const specs = { browser: e2eSpecs(root, 'browser').length, electron: e2eSpecs(root, 'electron').length };
    console.error(`\n${notRunReport(STEPS, i, specs)}`);
    process.exit(r.status ?? 1);
  }
}
