import { defineConfig } from '@playwright/test';

// Browser mode in Debian's Chromium everywhere; Electron specs only where the Electron binary exists.
export default defineConfig({
  testDir: '.',
  testMatch: ['browser/**/*.spec.ts', 'electron/**/*.spec.ts'],
  outputDir: '../test-results/e2e',
  workers: 1,
  fullyParallel: false,
  timeout: 60_000,
  reporter: [['list']],
  globalSetup: './support/e2e-setup.ts',
  use: {
    headless: true,
    viewport: { width: 1280, height: 800 },
  },
});
