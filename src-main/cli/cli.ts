#!/usr/bin/env node
// `sd35-studio`: the headless face of the studio — the same StudioCore and worker as the app.
import { version as APP_VERSION } from '../../package.json';
import { StudioError } from '../../src-shared/errors';
import type { Adapters } from '../core/adapters';
import { nodeAdapters } from '../core/node-adapters';
import { resolveDataDir } from '../core/paths';
import { StudioCore } from '../core/studio';
import { checkModelOps, listExecutionProviders } from '../inference/available';
import { runProviderProbe } from '../inference/probe-host';
import { GLOBAL_OPTIONS, boolOption, parseArgs, stringOption, type OptionSpec } from './args';
import type { Command } from './command';
import { COMMANDS } from './commands';
import { nodeVersionError } from './node-version';
import { createOutput } from './output';

const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export function findCommand(words: readonly string[], commands: readonly Command[] = COMMANDS): Command | undefined {
  let best: Command | undefined;
  for (const c of commands) {
    if (c.path.length <= words.length && c.path.every((w, i) => words[i] === w)) {
      if (!best || c.path.length > best.path.length) best = c;
    }
  }
  return best;
}

/** Help is laid out for this many columns (the terminal's, kept between 60 and 120; 100 when not a terminal). */
export function helpWidth(columns: number | undefined = process.stdout.columns): number {
  return columns ? Math.min(120, Math.max(60, columns)) : 100;
}

/** Words of `text` in lines of at most `width` characters (a longer word keeps a line of its own). */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.length ? lines : [''];
}

/** "  left   right" with each side wrapped inside its own column. */
function twoColumns(left: string, right: string, leftWidth: number, width: number): string[] {
  const indent = '  ';
  // A wrapped left cell continues two columns in, so it reads as one entry.
  const l = wrapWords(left, leftWidth - 2).map((line, i) => (i === 0 ? line : `  ${line}`));
  const r = wrapWords(right, Math.max(20, width - indent.length - leftWidth - 1));
  return Array.from({ length: Math.max(l.length, r.length) }, (_, i) => `${indent}${(l[i] ?? '').padEnd(leftWidth)} ${r[i] ?? ''}`.trimEnd());
}

function optionLines(o: OptionSpec, width: number): string[] {
  const flag = `--${o.name}${o.type === 'boolean' ? '' : ` ${o.valueName ?? 'V'}`}`;
  return twoColumns(flag, o.description, 24, width);
}

export function helpText(command?: Command, width = helpWidth()): string {
  const options = (list: readonly OptionSpec[]) => list.flatMap((o) => optionLines(o, width));
  if (command) {
    return [
      ...wrapWords(`Usage: sd35-studio ${command.usage}`, width),
      '',
      ...wrapWords(command.summary, width),
      ...(command.options.length ? ['', 'Options:', ...options(command.options)] : []),
      '',
      'Global options:',
      ...options(GLOBAL_OPTIONS),
    ].join('\n');
  }
  return [
    ...wrapWords(`SD3.5 Studio ${APP_VERSION} — Stable Diffusion 3.5 on your own computer`, width),
    '',
    'Usage: sd35-studio <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.flatMap((c) => twoColumns(c.usage, c.summary, Math.min(40, Math.floor(width * 0.45)), width)),
    '',
    'Global options (anywhere on the line):',
    ...options(GLOBAL_OPTIONS),
    '',
    ...wrapWords('Environment: SD35_STUDIO_HOME (data folder), HF_ENDPOINT, HF_TOKEN.', width),
    ...wrapWords(
      'Exit codes: 0 ok, 1 internal, 2 usage, 3 auth, 4 network, 5 verification, 6 disk, 7 not found, 8 cancelled, 9 worker crashed.',
      width,
    ),
  ].join('\n');
}

/** Where the CLI runs: plain Node by default; `<app> cli` inside Electron passes its spawner and SQLite build. */
export interface CliRuntime {
  adapters?: (env: NodeJS.ProcessEnv) => Adapters;
  /** The Electron-ABI better-sqlite3 binary (inside the app). */
  nativeBinding?: string;
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, runtimeHost: CliRuntime = {}): Promise<number> {
  const allOptions = [...GLOBAL_OPTIONS, ...COMMANDS.flatMap((c) => c.options)];
  const seen = new Map<string, OptionSpec>();
  for (const o of allOptions) if (!seen.has(o.name)) seen.set(o.name, o);
  const jsonRequested = argv.includes('--json');
  const out = createOutput(jsonRequested);
  let args;
  try {
    args = parseArgs(argv, [...seen.values()]);
  } catch (err) {
    return out.error(err);
  }
  const json = boolOption(args, 'json');
  const output = createOutput(json);
  if (boolOption(args, 'version')) {
    output.item({ version: APP_VERSION }, APP_VERSION);
    return 0;
  }
  const command = findCommand(args.words);
  if (boolOption(args, 'help') || args.words.length === 0) {
    process.stdout.write(`${helpText(command)}\n`);
    return args.words.length === 0 && !boolOption(args, 'help') ? 2 : 0;
  }
  if (!command) {
    return output.error(new StudioError('invalid_input', `Unknown command "${args.words.join(' ')}". Run sd35-studio --help.`));
  }
  // Options given must belong to this command (or be global).
  const allowed = new Set([...GLOBAL_OPTIONS, ...command.options].map((o) => o.name));
  for (const name of Object.keys(args.options)) {
    if (!allowed.has(name)) return output.error(new StudioError('invalid_input', `sd35-studio ${command.path.join(' ')} does not take --${name}`));
  }

  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    controller.abort();
  };
  // SIGHUP too: a closed terminal or a service manager's reload stops the command cleanly (lock released).
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  const dataDir = resolveDataDir(stringOption(args, 'data-dir'), env);
  const adapters = (runtimeHost.adapters ?? nodeAdapters)(env);
  let probed: ReturnType<typeof runProviderProbe> | undefined;
  try {
    return await command.run({
      args,
      rest: args.words.slice(command.path.length),
      out: output,
      dataDir,
      env,
      signal: controller.signal,
      openCore: (runtime = 'cli') =>
        StudioCore.open({
          dataDir,
          adapters,
          runtime,
          appVersion: APP_VERSION,
          listExecutionProviders,
          checkOps: checkModelOps,
          // Only `info` (system.info) pays for the check: one short-lived process, once.
          probeProviders: () => (probed ??= runProviderProbe(adapters.spawner, { env })),
          env,
          ...(runtimeHost.nativeBinding ? { nativeBinding: runtimeHost.nativeBinding } : {}),
          hostLog: (level, message) => {
            if (level === 'warn' || level === 'error' || env.SD35_DEBUG === '1') output.progress(message);
          },
        }),
    });
  } catch (err) {
    return output.error(nodeVersionError(err) ?? err);
  } finally {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
  }
}

/** Runs the CLI as this process: its exit code becomes the process's (used by this file and scripts/cli.mjs). */
export function runAsProcess(argv: string[]): void {
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`sd35-studio: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

if (require.main === module) runAsProcess(process.argv.slice(2));
