// `--help` layout: long usage lines and descriptions wrap inside their own column.
import { describe, expect, it } from 'vitest';
import { findCommand, helpText, helpWidth, wrapWords } from './cli';

describe('help text', () => {
  it('keeps every line within the width, for the command list and each command', () => {
    for (const width of [60, 80, 100]) {
      const texts = [helpText(undefined, width), helpText(findCommand(['generate']), width), helpText(findCommand(['models', 'download']), width)];
      for (const text of texts) for (const line of text.split('\n')) expect(line.length, `${width}: ${line}`).toBeLessThanOrEqual(width);
    }
  });

  it('wraps a long usage inside its 40-column cell, with the summary beside it', () => {
    const lines = helpText(undefined, 100).split('\n');
    const first = lines.findIndex((l) => l.startsWith('  models download'));
    expect(lines[first]).toMatch(/^ {2}models download <id\|owner\/name\[@rev\]> {2,}Download a model/);
    expect(lines[first]!.indexOf('Download')).toBe(43); // 2 indent + 40 column + 1 space
    expect(lines[first + 1]).toMatch(/^ {4}\[--no-t5\] +\S/); // the usage continues, indented, in its column
  });

  it('wrapWords never loses a word and helpWidth stays between 60 and 120', () => {
    const text = 'one two three four five six seven eight nine ten';
    expect(wrapWords(text, 10).join(' ')).toBe(text);
    expect(wrapWords('averyveryverylongword x', 5)).toEqual(['averyveryverylongword', 'x']);
    expect([helpWidth(20), helpWidth(90), helpWidth(300), helpWidth(undefined)]).toEqual([60, 90, 120, 100]);
  });
});
