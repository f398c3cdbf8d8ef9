import { describe, expect, it } from 'vitest';
import { StudioError } from '../../src-shared/errors';
import { GLOBAL_OPTIONS, intOption, parseArgs, type OptionSpec } from './args';
import { findCommand } from './cli';
import { createOutput } from './output';
import { PassThrough } from 'node:stream';

const known: OptionSpec[] = [...GLOBAL_OPTIONS, { name: 'port', type: 'string', description: '' }, { name: 'tag', type: 'list', description: '' }, { name: 'no-t5', type: 'boolean', description: '' }];

describe('parseArgs', () => {
  it('accepts global options anywhere on the line', () => {
    expect(parseArgs(['--json', 'serve', '--port', '0'], known)).toEqual({ words: ['serve'], options: { json: true, port: '0' } });
    expect(parseArgs(['serve', '--port=8080', '--data-dir', '/d', '--json'], known)).toEqual({ words: ['serve'], options: { port: '8080', 'data-dir': '/d', json: true } });
    expect(parseArgs(['history', '--data-dir', '/x', 'list'], known).words).toEqual(['history', 'list']);
  });

  it('keeps words after -- as words, repeats lists, and takes negative numbers as values', () => {
    expect(parseArgs(['generate', '--tag', 'a', '--tag', 'b', '--', '--json'], known)).toEqual({ words: ['generate', '--json'], options: { tag: ['a', 'b'] } });
    expect(parseArgs(['x', '--port', '-1'], known).options.port).toBe('-1');
  });

  it.each([
    [['--nope'], /Unknown option --nope/],
    [['-x'], /Unknown option -x/],
    [['--port'], /needs a value/],
    [['--port', '--json'], /needs a value/],
    [['--json=1'], /takes no value/],
    [['--port', '1', '--port', '2'], /given twice/],
  ])('refuses %j', (argv, message) => {
    let err: unknown;
    try {
      parseArgs(argv, known);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StudioError);
    expect((err as StudioError).code).toBe('invalid_input');
    expect((err as StudioError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(message);
  });

  it('checks whole numbers and ranges', () => {
    const args = parseArgs(['--port', '70000'], known);
    expect(() => intOption(args, 'port', { min: 0, max: 65535 })).toThrow(/between 0 and 65535/);
    expect(() => intOption(parseArgs(['--port', '1.5'], known), 'port', { min: 0, max: 9 })).toThrow(/whole number/);
    expect(intOption(parseArgs(['--port', '0'], known), 'port', { min: 0, max: 9 })).toBe(0);
  });
});

describe('findCommand', () => {
  it('finds the longest matching command path', () => {
    expect(findCommand(['serve'])?.path).toEqual(['serve']);
    expect(findCommand(['info', 'extra'])?.path).toEqual(['info']);
    expect(findCommand(['bogus'])).toBeUndefined();
  });
});

describe('output', () => {
  it('prints JSON lines on stdout with --json and ends failures with an error object', () => {
    const out = new PassThrough();
    const err = new PassThrough();
    const o = createOutput(true, { out, err });
    o.item({ a: 1 }, 'human');
    o.text('not in json mode');
    o.progress('progress goes to stderr');
    const code = o.error(new StudioError('not_found', 'No such model'));
    expect(code).toBe(7);
    expect(String(out.read())).toBe('{"a":1}\n{"error":{"code":"not_found","message":"No such model"}}\n');
    expect(String(err.read())).toBe('progress goes to stderr\n');
  });

  it('prints human text without --json', () => {
    const out = new PassThrough();
    const err = new PassThrough();
    const o = createOutput(false, { out, err });
    o.item({ a: 1 }, 'human');
    expect(o.error(new Error('boom'))).toBe(1);
    expect(String(out.read())).toBe('human\n');
    expect(String(err.read())).toBe('sd35-studio: boom\n');
  });
});

describe('command options', () => {
  it('never declare one name with two types across commands (they share one parser)', async () => {
    const { COMMANDS } = await import('./commands');
    const seen = new Map<string, string>();
    for (const o of [...GLOBAL_OPTIONS, ...COMMANDS.flatMap((c) => c.options)]) {
      const prev = seen.get(o.name);
      expect(prev === undefined || prev === o.type, `--${o.name} is ${prev} in one command and ${o.type} in another`).toBe(true);
      seen.set(o.name, o.type);
    }
  });
});
