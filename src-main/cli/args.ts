// Command-line parsing for `sd35-studio`: the words of the subcommand, then options. Global options
// (--data-dir D, --json, --help, --version) are accepted anywhere on the line.
import { StudioError } from '../../src-shared/errors';

export interface OptionSpec {
  name: string;
  /** 'string' takes a value (`--x v` or `--x=v`); 'boolean' takes none; 'list' may repeat. */
  type: 'string' | 'boolean' | 'list';
  description: string;
  valueName?: string;
}

export interface ParsedArgs {
  words: string[];
  options: Record<string, string | boolean | string[]>;
}

export const GLOBAL_OPTIONS: OptionSpec[] = [
  { name: 'data-dir', type: 'string', valueName: 'D', description: 'Data folder (default: $SD35_STUDIO_HOME or the app data folder)' },
  { name: 'json', type: 'boolean', description: 'JSON lines on stdout, progress and logs on stderr' },
  { name: 'help', type: 'boolean', description: 'Show help' },
  { name: 'version', type: 'boolean', description: 'Show the version' },
];

/**
 * Splits argv into words and options. `known` lists every option any command accepts (global
 * ones included); an unknown option is a usage error. Everything after `--` is a word.
 */
export function parseArgs(argv: readonly string[], known: readonly OptionSpec[]): ParsedArgs {
  const specs = new Map(known.map((o) => [o.name, o]));
  const words: string[] = [];
  const options: ParsedArgs['options'] = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      words.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      if (arg.startsWith('-') && arg.length > 1 && arg !== '-') {
        if (arg === '-h') {
          options.help = true;
          continue;
        }
        throw new StudioError('invalid_input', `Unknown option ${arg} (options are spelled --name)`);
      }
      words.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = specs.get(name);
    if (!spec) throw new StudioError('invalid_input', `Unknown option --${name}`);
    if (spec.type === 'boolean') {
      if (eq !== -1) throw new StudioError('invalid_input', `--${name} takes no value`);
      options[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || (value.startsWith('--') && value.length > 2)) {
        throw new StudioError('invalid_input', `--${name} needs a value${spec.valueName ? ` (${spec.valueName})` : ''}`);
      }
      i++;
    }
    if (spec.type === 'list') {
      const prev = options[name];
      options[name] = Array.isArray(prev) ? [...prev, value] : [value];
    } else {
      if (options[name] !== undefined) throw new StudioError('invalid_input', `--${name} given twice`);
      options[name] = value;
    }
  }
  return { words, options };
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const v = args.options[name];
  return typeof v === 'string' ? v : undefined;
}

/** A string option the command cannot do without; `hint` says how to give it. */
export function requiredString(args: ParsedArgs, name: string, hint: string): string {
  const v = stringOption(args, name);
  if (v === undefined) throw new StudioError('invalid_input', hint);
  return v;
}

export function boolOption(args: ParsedArgs, name: string): boolean {
  return args.options[name] === true;
}

export function intOption(args: ParsedArgs, name: string, range: { min: number; max: number }): number | undefined {
  const raw = stringOption(args, name);
  if (raw === undefined) return undefined;
  if (!/^-?\d+$/.test(raw)) throw new StudioError('invalid_input', `--${name} must be a whole number, not "${raw}"`);
  const n = Number(raw);
  if (n < range.min || n > range.max) throw new StudioError('invalid_input', `--${name} must be between ${range.min} and ${range.max}`);
  return n;
}
