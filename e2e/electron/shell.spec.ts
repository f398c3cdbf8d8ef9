// The same smoke test against the real Electron window (Playwright _electron, under xvfb on Linux).
// Skipped, with the reason printed, where the Electron binary is not installed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { _electron as electron, expect, test } from '@playwright/test';
import { REPO, electronBinary, electronSkipReason, tellElectronSkip } from '../support/electron-binary';

const binary = electronBinary();
const skipReason = electronSkipReason();

tellElectronSkip(skipReason);

test.describe('Electron window', () => {
  test.skip(!!skipReason, skipReason);

  test('opens securely, moves through every view and shows system info', async () => {
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
      for (const name of ['Generate', 'Gallery', 'Compare', 'Models', 'LoRAs', 'Settings']) {
        await nav.getByRole('link', { name }).click();
        await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
      }
      // The provider check ran in a utility process with the app's onnxruntime-node: the CPU works here.
      await expect(page.getByTestId('providers').locator('li[data-status="loaded"]').first()).toContainText('cpu', { timeout: 30_000 });
      await page.screenshot({ path: path.join(REPO, 'test-results', 'screenshots', 'electron-settings.png') });
      expect(errors).toEqual([]);
    } finally {
      await app.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
