#!/usr/bin/env node
// `npm run -s cli -- <args>`: runs the built CLI; builds first when the build is missing or older than
// the sources (build output goes to stderr so stdout stays clean for --json).
// The CLI runs in this process, so a script or service manager that stops the wrapper (SIGINT, SIGTERM,
// SIGHUP) stops the command itself: a server stops and releases studio.lock, and the exit status is the
// CLI's. npm runs scripts from the package root; relative paths (`models import ./my-model`) resolve
// against the folder the command was typed in (INIT_CWD).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'out', 'main', 'cli.js');

/** Newest modification time under the build's inputs (sources but not tests, configs, package.json). */
function newestSource() {
  let newest = 0;
  const visit = (p) => {
    let st;
    try {
      st = fs.statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(p)) if (name !== 'node_modules') visit(path.join(p, name));
    } else if (!p.endsWith('.test.ts') && st.mtimeMs > newest) newest = st.mtimeMs;
  };
  for (const p of ['src-main', 'src-shared', 'src-renderer', 'package.json', 'electron.vite.config.ts', 'tsconfig.base.json', 'tsconfig.node.json']) {
    visit(path.join(root, p));
  }
  return newest;
}

function buildReason() {
  if (!fs.existsSync(cli)) return 'first run';
  if (process.env.SD35_CLI_NO_REBUILD === '1') return undefined;
  return newestSource() > fs.statSync(cli).mtimeMs ? 'sources changed since the last build' : undefined;
}

const reason = buildReason();
if (reason) {
  process.stderr.write(`sd35-studio: building (${reason})…\n`);
  const built = spawnSync(process.execPath, [path.join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], {
    cwd: root,
    stdio: ['ignore', process.stderr, process.stderr],
  });
  if (built.status !== 0) process.exit(built.status ?? 1);
}

// npm sets INIT_CWD to the folder `npm run` was typed in; run the CLI there.
const initCwd = process.env.INIT_CWD;
if (initCwd && initCwd !== process.cwd() && fs.existsSync(initCwd)) process.chdir(initCwd);

// `npm run` starts the script through a shell (`sh -c`); where that shell is dash (Debian, Ubuntu) it does not
// exec us, and npm's SIGTERM/SIGINT stops the shell alone. When the process that started us under npm is
// gone, stop as if signalled, so no server is left holding studio.lock and its port.
if (process.env.npm_lifecycle_event) {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM');
  }, 500).unref();
}

// In-process: signals sent to this process reach the CLI's own handlers (Ctrl+C, SIGTERM, SIGHUP stop the
// command and release studio.lock); there is no second process to leave behind.
const { runAsProcess } = createRequire(import.meta.url)(cli);
runAsProcess(process.argv.slice(2));
