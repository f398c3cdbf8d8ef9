import { defineConfig } from '@playwright/test';

// Browser mode in Debian's Chromium everywhere; Electron specs only where the Electron binary exists.
export default defineConfig({
  testDir: '.',
  testMatch: ['browser/**/*.spec.ts', 'electron/**/*.spec.ts'],
  outputDir: '../test-results/e2e',
  workers: 1,
  fullyParallel: false,
  // Waits, not bounds: generous so a busy 2-core CI box cannot fail a correct behaviour (speed: npm run bench).
  timeout: 120_000,
  expect: { timeout: 20_000 },
  reporter: [['list']],
  globalSetup: './support/e2e-setup.ts',
  use: {
    headless: true,
    viewport: { width: 1280, height: 800 },
  },
});
