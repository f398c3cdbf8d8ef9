// Integration tests run against the built output (node out/main/*.js): build once, unless it is fresh.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

export default function setup(): void {
  if (process.env.SD35_SKIP_BUILD === '1') return;
  const marker = path.join(root, 'out', 'main', 'cli.js');
  if (fs.existsSync(marker) && process.env.SD35_FORCE_BUILD !== '1') return;
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
