import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vitest/config';

// unit: pure logic beside the code (*.test.ts), run in parallel.
// integration: real SQLite files, real worker processes, real HTTP servers on 127.0.0.1
// (*.int.test.ts), run one file at a time (2 cores) against the built output in out/.
// The timeouts only catch a hang: no test passes or fails on how long it took (CI is a busy 2-core box;
// vitest's default 5 s per test failed unit tests that allocate 100 MB when the cores were saturated).
export default defineConfig({
  test: {
    projects: [
      {
        // Vue single-file components compile for the component tests (rendered to a string, no DOM).
        plugins: [vue()],
        test: {
          name: 'unit',
          include: ['src-*/**/*.test.ts', 'e2e/support/**/*.test.ts', 'scripts/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', 'node_modules/**'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['src-*/**/*.int.test.ts', 'e2e/support/**/*.int.test.ts'],
          environment: 'node',
          fileParallelism: false,
          // Real-worker tests (SLG, generate.int) took 60–80 s at load 13–22: the guard is for hangs only.
          testTimeout: 300_000,
          hookTimeout: 120_000,
          globalSetup: ['e2e/support/global-setup.ts'],
        },
      },
    ],
  },
});
