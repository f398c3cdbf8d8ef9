// The same smoke test against the real Electron window (Playwright _electron, under xvfb on Linux).
// Skipped, with the reason printed, where the Electron binary is not installed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { _electron as electron, expect, test } from '@playwright/test';

const REPO = path.resolve(__dirname, '..', '..');

/** The installed Electron binary, found without require('electron') (which would try to download it). */
function electronBinary(): string | undefined {
  const dir = path.join(REPO, 'node_modules', 'electron');
  try {
    const rel = fs.readFileSync(path.join(dir, 'path.txt'), 'utf8').trim();
    const full = path.join(dir, 'dist', rel);
    return fs.existsSync(full) ? full : undefined;
  } catch {
    return undefined;
  }
}

const binary = electronBinary();
const nativeReady = fs.existsSync(path.join(REPO, 'native', 'electron', 'better_sqlite3.node'));
const skipReason = !binary
  ? 'Electron binary not installed here (ELECTRON_SKIP_BINARY_DOWNLOAD / offline): run `node node_modules/electron/install.js` online to enable this spec'
  : !nativeReady
    ? 'better-sqlite3 for Electron not prepared: run `npm run prepare:electron` online'
    : process.platform === 'linux' && !process.env.DISPLAY
      ? 'no X display: run under xvfb-run'
      : undefined;

if (skipReason) console.log(`[electron e2e] skipped: ${skipReason}`);

test.describe('Electron window', () => {
  test.skip(!!skipReason, skipReason);

  test('opens securely, moves through the five views and shows system info', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-electron-'));
    const app = await electron.launch({ executablePath: binary, args: [REPO, '--data-dir', dataDir], env: { ...process.env, SD35_STUDIO_HOME: dataDir } });
    try {
      const page = await app.firstWindow();
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      expect(page.url()).toMatch(/^studio:\/\/app\//);
      expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
      await expect(page.getByTestId('status-data')).toContainText(dataDir);
      const nav = page.getByRole('navigation', { name: 'Views' });
      for (const name of ['Generate', 'Gallery', 'Compare', 'Models', 'Settings']) {
        await nav.getByRole('link', { name }).click();
        await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
      }
      await page.screenshot({ path: path.join(REPO, 'test-results', 'screenshots', 'electron-settings.png') });
      expect(errors).toEqual([]);
    } finally {
      await app.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
