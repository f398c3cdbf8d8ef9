#!/usr/bin/env node
// `sd35-studio`: the headless face of the studio — the same StudioCore and worker as the app.
import { version as APP_VERSION } from '../../package.json';
import { StudioError } from '../../src-shared/errors';
import { nodeAdapters } from '../core/node-adapters';
import { resolveDataDir } from '../core/paths';
import { StudioCore } from '../core/studio';
import { listExecutionProviders } from '../inference/available';
import { GLOBAL_OPTIONS, boolOption, parseArgs, stringOption, type OptionSpec } from './args';
import type { Command } from './command';
import { COMMANDS } from './commands';
import { createOutput } from './output';

export function findCommand(words: readonly string[], commands: readonly Command[] = COMMANDS): Command | undefined {
  let best: Command | undefined;
  for (const c of commands) {
    if (c.path.length <= words.length && c.path.every((w, i) => words[i] === w)) {
      if (!best || c.path.length > best.path.length) best = c;
    }
  }
  return best;
}

function optionLine(o: OptionSpec): string {
  const flag = `--${o.name}${o.type === 'boolean' ? '' : ` ${o.valueName ?? 'V'}`}`;
  return `  ${flag.padEnd(24)} ${o.description}`;
}

export function helpText(command?: Command): string {
  if (command) {
    return [
      `Usage: sd35-studio ${command.usage}`,
      '',
      command.summary,
      ...(command.options.length ? ['', 'Options:', ...command.options.map(optionLine)] : []),
      '',
      'Global options:',
      ...GLOBAL_OPTIONS.map(optionLine),
    ].join('\n');
  }
  return [
    `SD3.5 Studio ${APP_VERSION} — Stable Diffusion 3.5 on your own computer`,
    '',
    'Usage: sd35-studio <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.usage.padEnd(40)} ${c.summary}`),
    '',
    'Global options (anywhere on the line):',
    ...GLOBAL_OPTIONS.map(optionLine),
    '',
    'Environment: SD35_STUDIO_HOME (data folder), HF_ENDPOINT, HF_TOKEN.',
    'Exit codes: 0 ok, 1 internal, 2 usage, 3 auth, 4 network, 5 verification, 6 disk, 7 not found, 8 cancelled, 9 worker crashed.',
  ].join('\n');
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
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
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const dataDir = resolveDataDir(stringOption(args, 'data-dir'), env);
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
          adapters: nodeAdapters(env),
          runtime,
          appVersion: APP_VERSION,
          listExecutionProviders,
          env,
          hostLog: (level, message) => {
            if (level === 'warn' || level === 'error' || env.SD35_DEBUG === '1') output.progress(message);
          },
        }),
    });
  } catch (err) {
    return output.error(err);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`sd35-studio: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
