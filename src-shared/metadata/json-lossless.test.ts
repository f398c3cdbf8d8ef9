import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asIntString, asNumber, field, isObject, JsonNumber, JsonSyntaxError, parseJsonLossless, tryParseJson } from './json-lossless';

describe('parseJsonLossless', () => {
  it('keeps integers above 2^53 exactly', () => {
    const v = parseJsonLossless('{"seed": 6952411511246973023, "small": 42, "neg": -9007199254740993}');
    expect(asIntString(field(v, 'seed'))).toBe('6952411511246973023');
    expect(asIntString(field(v, 'neg'))).toBe('-9007199254740993');
    expect(asNumber(field(v, 'small'))).toBe(42);
    // JSON.parse would have rounded it:
    expect(String(JSON.parse('6952411511246973023'))).not.toBe('6952411511246973023');
  });

  it('decodes escapes, surrogate pairs and nested structures', () => {
    const v = parseJsonLossless('{"t": "a\\n\\"b\\" \\u30c6\\ud83d\\ude00 \\\\ \\/", "a": [1, 2.5e3, true, false, null, {}], "e": []}');
    expect(field(v, 't')).toBe('a\n"b" テ😀 \\ /');
    const a = field(v, 'a') as unknown[];
    expect((a[1] as JsonNumber).raw).toBe('2.5e3');
    expect(a.slice(2, 5)).toEqual([true, false, null]);
    expect(field(v, 'e')).toEqual([]);
  });

  it('treats __proto__ as a plain key', () => {
    const v = parseJsonLossless('{"__proto__": {"polluted": true}, "x": 1}');
    expect(isObject(v)).toBe(true);
    expect(field(v, '__proto__', 'polluted')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each(['', '{', '{"a":}', '[1,]', '{"a" 1}', '"abc', '"\\x"', '01', '1 2', '{"a":1}}', '"a\nb"', 'nul'])(
    'rejects malformed JSON %j',
    (text) => {
      expect(() => parseJsonLossless(text)).toThrow(JsonSyntaxError);
      expect(tryParseJson(text)).toBeUndefined();
    },
  );

  it('rejects absurd nesting instead of overflowing the stack', () => {
    expect(() => parseJsonLossless('['.repeat(100_000) + ']'.repeat(100_000))).toThrow(/nested too deeply/);
  });

  it('agrees with JSON.parse on everything but number representation', () => {
    const toPlain = (v: unknown): unknown =>
      v instanceof JsonNumber
        ? Number(v.raw)
        : Array.isArray(v)
          ? v.map(toPlain)
          : v !== null && typeof v === 'object'
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toPlain(x)]))
            : v;
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        expect(toPlain(parseJsonLossless(text))).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });
});
