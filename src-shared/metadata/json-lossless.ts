// A small JSON parser that keeps every number as its source text, so a seed such as
// 6952411511246973023 (> 2^53) is never rounded through a JS number. Objects have no prototype
// (keys like "__proto__" are plain data). Pure: runs in the renderer too.

/** A JSON number, kept exactly as written. */
export class JsonNumber {
  constructor(readonly raw: string) {}
  toNumber(): number {
    return Number(this.raw);
  }
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError';
}

const MAX_DEPTH = 512;

/** Parse JSON text; numbers become JsonNumber. Throws JsonSyntaxError on malformed input. */
export function parseJsonLossless(text: string): JsonValue {
  const p = new Parser(text);
  p.ws();
  const v = p.value(0);
  p.ws();
  if (p.i !== text.length) p.fail('unexpected text after the JSON value');
  return v;
}

/** parseJsonLossless, or undefined when the text is not JSON. */
export function tryParseJson(text: string): JsonValue | undefined {
  try {
    return parseJsonLossless(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError) return undefined;
    throw err;
  }
}

const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class Parser {
  i = 0;
  constructor(private readonly s: string) {}

  fail(what: string): never {
    throw new JsonSyntaxError(`Invalid JSON at character ${this.i}: ${what}`);
  }

  ws(): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.i = i;
  }

  value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail('nested too deeply');
    const c = this.s.charCodeAt(this.i);
    if (c === 0x7b /* { */) return this.object(depth);
    if (c === 0x5b /* [ */) return this.array(depth);
    if (c === 0x22 /* " */) return this.string();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (this.s.startsWith('true', this.i)) {
      this.i += 4;
      return true;
    }
    if (this.s.startsWith('false', this.i)) {
      this.i += 5;
      return false;
    }
    if (this.s.startsWith('null', this.i)) {
      this.i += 4;
      return null;
    }
    // Python's json.dumps writes these for non-finite floats; keep them readable.
    for (const word of ['NaN', 'Infinity', '-Infinity']) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return new JsonNumber(word);
      }
    }
    return this.fail(this.i >= this.s.length ? 'unexpected end' : 'unexpected character');
  }

  number(): JsonNumber {
    NUMBER_RE.lastIndex = this.i;
    const m = NUMBER_RE.exec(this.s);
    if (!m) {
      if (this.s.startsWith('-Infinity', this.i)) {
        this.i += 9;
        return new JsonNumber('-Infinity');
      }
      return this.fail('malformed number');
    }
    this.i += m[0].length;
    return new JsonNumber(m[0]);
  }

  string(): string {
    const s = this.s;
    let i = this.i + 1;
    let out = '';
    let start = i;
    for (;;) {
      if (i >= s.length) this.fail('unterminated string');
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        out += s.slice(start, i);
        this.i = i + 1;
        return out;
      }
      if (c === 0x5c /* \ */) {
        out += s.slice(start, i);
        const e = s[i + 1];
        switch (e) {
          case '"':
            out += '"';
            break;
          case '\\':
            out += '\\';
            break;
          case '/':
            out += '/';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u': {
            const hex = s.slice(i + 2, i + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
              this.i = i;
              this.fail('bad \\u escape');
            }
            out += String.fromCharCode(parseInt(hex, 16));
            i += 4;
            break;
          }
          default:
            this.i = i;
            this.fail('bad escape');
        }
        i += 2;
        start = i;
        continue;
      }
      if (c < 0x20) {
        this.i = i;
        this.fail('control character in string');
      }
      i++;
    }
  }

  array(depth: number): JsonValue[] {
    this.i++;
    const out: JsonValue[] = [];
    this.ws();
    if (this.s.charCodeAt(this.i) === 0x5d) {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value(depth + 1));
      this.ws();
      const c = this.s.charCodeAt(this.i);
      if (c === 0x2c) {
        this.i++;
        continue;
      }
      if (c === 0x5d) {
        this.i++;
        return out;
      }
      this.fail("expected ',' or ']'");
    }
  }

  object(depth: number): JsonObject {
    this.i++;
    const out = Object.create(null) as JsonObject;
    this.ws();
    if (this.s.charCodeAt(this.i) === 0x7d) {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s.charCodeAt(this.i) !== 0x22) this.fail('expected a key');
      const key = this.string();
      this.ws();
      if (this.s.charCodeAt(this.i) !== 0x3a) this.fail("expected ':'");
      this.i++;
      this.ws();
      out[key] = this.value(depth + 1);
      this.ws();
      const c = this.s.charCodeAt(this.i);
      if (c === 0x2c) {
        this.i++;
        continue;
      }
      if (c === 0x7d) {
        this.i++;
        return out;
      }
      this.fail("expected ',' or '}'");
    }
  }
}

// ---- accessors used by the format parsers ----

export function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber);
}

export function field(obj: JsonValue | undefined, ...path: string[]): JsonValue | undefined {
  let cur: JsonValue | undefined = obj;
  for (const key of path) {
    if (!isObject(cur)) return undefined;
    cur = Object.prototype.hasOwnProperty.call(cur, key) ? cur[key] : undefined;
  }
  return cur;
}

/** A scalar (string, number as written, boolean) as text; undefined for objects, arrays and null. */
export function scalarText(v: JsonValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (v instanceof JsonNumber) return v.raw;
  if (typeof v === 'boolean') return String(v);
  return undefined;
}

export function asString(v: JsonValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A finite number from a JSON number or a numeric string. */
export function asNumber(v: JsonValue | undefined): number | undefined {
  let n: number | undefined;
  if (v instanceof JsonNumber) n = v.toNumber();
  else if (typeof v === 'string' && /^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/.test(v)) n = Number(v);
  return n !== undefined && Number.isFinite(n) ? n : undefined;
}

export function asInt(v: JsonValue | undefined): number | undefined {
  const n = asNumber(v);
  return n !== undefined && Number.isSafeInteger(n) ? n : undefined;
}

/**
 * An integer as an exact decimal string (seeds): from the digits of a JSON number or a string of
 * digits, never through a JS number. `1.0` and `12e0` style integers are not accepted.
 */
export function asIntString(v: JsonValue | undefined): string | undefined {
  const raw = v instanceof JsonNumber ? v.raw : typeof v === 'string' ? v.trim() : undefined;
  if (raw === undefined || !/^-?\d+$/.test(raw)) return undefined;
  return normalizeIntString(raw);
}

/** Strip a leading '+' and leading zeros: "007" → "7", "-0" → "0". */
export function normalizeIntString(raw: string): string {
  const neg = raw.startsWith('-');
  const digits = raw.replace(/^[+-]/, '').replace(/^0+(?=\d)/, '');
  return neg && digits !== '0' ? `-${digits}` : digits;
}
