// npm test's report when a step fails: the steps after it and the e2e spec files that did not run.
import { describe, expect, it } from 'vitest';
import { REPO } from '../../src-main/testing/processes';
import { STEPS, e2eSpecs, notRunReport } from './test-steps.mjs';

describe('npm test steps', () => {
  it('runs vitest before the e2e specs, and the Electron pass last', () => {
    const names = STEPS.map((s) => s.name);
    expect(names.indexOf('vitest (unit and integration)')).toBeLessThan(STEPS.findIndex((s) => s.e2e === 'browser'));
    expect(STEPS.at(-1)!.e2e).toBe('electron');
  });

  it('when vitest fails, says how many e2e spec files did not run', () => {
    const vitest = STEPS.findIndex((s) => s.name.startsWith('vitest'));
    const report = notRunReport(STEPS, vitest, { browser: 6, electron: 2 });
    expect(report).toContain('"vitest (unit and integration)" failed');
    expect(report).toContain('8 e2e spec files did not run (6 browser, 2 Electron)');
  });

  it('when the e2e step itself fails, names the Electron pass but leaves the counting to Playwright', () => {
    const e2e = STEPS.findIndex((s) => s.e2e === 'browser');
    const report = notRunReport(STEPS, e2e, { browser: 6, electron: 2 });
    expect(report).toMatch(/Not run because of it: Electron e2e/);
    expect(report).not.toMatch(/spec files did not run/);
    expect(notRunReport(STEPS, STEPS.length - 1, { browser: 6, electron: 2 })).not.toMatch(/Not run/);
  });

  it('counts the spec files of this repository', () => {
    expect(e2eSpecs(REPO, 'browser')).toContain('gallery.spec.ts');
    expect(e2eSpecs(REPO, 'electron').length).toBeGreaterThan(0);
  });
});
