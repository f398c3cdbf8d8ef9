// CLIP tokenizer (CLIP-L in tokenizer/, CLIP-G in tokenizer_2/) as openai's CLIP simple_tokenizer.py does it:
// text cleaning (ftfy's simple repairs, NFC, HTML unescaped twice, whitespace collapsed, trimmed, lower-cased),
// CLIP's split pattern, bytes mapped to printable unicode, byte-level BPE with the `</w>` end-of-word marker.
// The sequence fed to the encoders is BOS, the first 75 BPE ids, EOS, then the folder's pad token up to 77.
//
// ftfy: openai runs ftfy.fix_text first. Its mojibake repair (re-decoding text that was decoded with the wrong
// codec) is not reproduced; its simple repairs are: control characters removed, Latin ligatures split, fullwidth
// forms narrowed, curly quotes straightened, NFC. ftfy also unescapes HTML entities (repeatedly, unless the text
// contains "<") before openai's own two html.unescape passes; only the two passes are done here, so text escaped
// three or more times (e.g. "&amp;amp;amp;") keeps one level of escaping.
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseBoundedJson } from '../../../src-shared/bounded-json';
import { StudioError } from '../../../src-shared/errors';

export const CLIP_MAX_LENGTH = 77;
const CLIP_CONTENT_TOKENS = CLIP_MAX_LENGTH - 2;
const DEFAULT_BOS = '<|startoftext|>';
const DEFAULT_EOS = '<|endoftext|>';

// ---------------------------------------------------------------------------------------------------------------
// HTML unescape with the semantics of Python's html.unescape: named references (with the semicolon; the legacy
// Latin-1 ones also without it, longest prefix first), decimal and hex references with the WHATWG replacements.
// Named entities: HTML 4's 252 plus &apos; and the upper-case legacy aliases (the 2,000 rarer HTML5 names are left
// as they are). Format: name:hex-codepoint.
const NAMED_ENTITIES =
  'QUOT:22 quot:22 AMP:26 amp:26 apos:27 LT:3c lt:3c GT:3e gt:3e nbsp:a0 iexcl:a1 cent:a2 pound:a3 ' +
  'curren:a4 yen:a5 brvbar:a6 sect:a7 uml:a8 COPY:a9 copy:a9 ordf:aa laquo:ab not:ac shy:ad REG:ae reg:ae ' +
  'macr:af deg:b0 plusmn:b1 sup2:b2 sup3:b3 acute:b4 micro:b5 para:b6 middot:b7 cedil:b8 sup1:b9 ordm:ba ' +
  'raquo:bb frac14:bc frac12:bd frac34:be iquest:bf Agrave:c0 Aacute:c1 Acirc:c2 Atilde:c3 Auml:c4 Aring:c5 ' +
  'AElig:c6 Ccedil:c7 Egrave:c8 Eacute:c9 Ecirc:ca Euml:cb Igrave:cc Iacute:cd Icirc:ce Iuml:cf ETH:d0 ' +
  'Ntilde:d1 Ograve:d2 Oacute:d3 Ocirc:d4 Otilde:d5 Ouml:d6 times:d7 Oslash:d8 Ugrave:d9 Uacute:da Ucirc:db ' +
  'Uuml:dc Yacute:dd THORN:de szlig:df agrave:e0 aacute:e1 acirc:e2 atilde:e3 auml:e4 aring:e5 aelig:e6 ' +
  'ccedil:e7 egrave:e8 eacute:e9 ecirc:ea euml:eb igrave:ec iacute:ed icirc:ee iuml:ef eth:f0 ntilde:f1 ' +
  'ograve:f2 oacute:f3 ocirc:f4 otilde:f5 ouml:f6 divide:f7 oslash:f8 ugrave:f9 uacute:fa ucirc:fb uuml:fc ' +
  'yacute:fd thorn:fe yuml:ff OElig:152 oelig:153 Scaron:160 scaron:161 Yuml:178 fnof:192 circ:2c6 ' +
  'tilde:2dc Alpha:391 Beta:392 Gamma:393 Delta:394 Epsilon:395 Zeta:396 Eta:397 Theta:398 Iota:399 ' +
  'Kappa:39a Lambda:39b Mu:39c Nu:39d Xi:39e Omicron:39f Pi:3a0 Rho:3a1 Sigma:3a3 Tau:3a4 Upsilon:3a5 ' +
  'Phi:3a6 Chi:3a7 Psi:3a8 Omega:3a9 alpha:3b1 beta:3b2 gamma:3b3 delta:3b4 epsilon:3b5 zeta:3b6 eta:3b7 ' +
  'theta:3b8 iota:3b9 kappa:3ba lambda:3bb mu:3bc nu:3bd xi:3be omicron:3bf pi:3c0 rho:3c1 sigmaf:3c2 ' +
  'sigma:3c3 tau:3c4 upsilon:3c5 phi:3c6 chi:3c7 psi:3c8 omega:3c9 thetasym:3d1 upsih:3d2 piv:3d6 ensp:2002 ' +
  'emsp:2003 thinsp:2009 zwnj:200c zwj:200d lrm:200e rlm:200f ndash:2013 mdash:2014 lsquo:2018 rsquo:2019 ' +
  'sbquo:201a ldquo:201c rdquo:201d bdquo:201e dagger:2020 Dagger:2021 bull:2022 hellip:2026 permil:2030 ' +
  'prime:2032 Prime:2033 lsaquo:2039 rsaquo:203a oline:203e frasl:2044 euro:20ac image:2111 weierp:2118 ' +
  'real:211c trade:2122 alefsym:2135 larr:2190 uarr:2191 rarr:2192 darr:2193 harr:2194 crarr:21b5 lArr:21d0 ' +
  'uArr:21d1 rArr:21d2 dArr:21d3 hArr:21d4 forall:2200 part:2202 exist:2203 empty:2205 nabla:2207 isin:2208 ' +
  'notin:2209 ni:220b prod:220f sum:2211 minus:2212 lowast:2217 radic:221a prop:221d infin:221e ang:2220 ' +
  'and:2227 or:2228 cap:2229 cup:222a int:222b there4:2234 sim:223c cong:2245 asymp:2248 ne:2260 equiv:2261 ' +
  'le:2264 ge:2265 sub:2282 sup:2283 nsub:2284 sube:2286 supe:2287 oplus:2295 otimes:2297 perp:22a5 ' +
  'sdot:22c5 lceil:2308 rceil:2309 lfloor:230a rfloor:230b loz:25ca spades:2660 clubs:2663 hearts:2665 ' +
  'diams:2666 lang:27e8 rang:27e9 ';
const LEGACY_ENTITIES =
  'AElig AMP Aacute Acirc Agrave Aring Atilde Auml COPY Ccedil ETH Eacute Ecirc Egrave Euml GT Iacute Icirc ' +
  'Igrave Iuml LT Ntilde Oacute Ocirc Ograve Oslash Otilde Ouml QUOT REG THORN Uacute Ucirc Ugrave Uuml ' +
  'Yacute aacute acirc acute aelig agrave amp aring atilde auml brvbar ccedil cedil cent copy curren deg ' +
  'divide eacute ecirc egrave eth euml frac12 frac14 frac34 gt iacute icirc iexcl igrave iquest iuml laquo ' +
  'lt macr micro middot nbsp not ntilde oacute ocirc ograve ordf ordm oslash otilde ouml para plusmn pound ' +
  'quot raquo reg sect shy sup1 sup2 sup3 szlig thorn times uacute ucirc ugrave uml uuml yacute yen yuml ';

function parseEntityTable(): Map<string, string> {
  const map = new Map<string, string>();
  for (const item of NAMED_ENTITIES.trim().split(/\s+/)) {
    const [name, hex] = item.split(':') as [string, string];
    map.set(name, String.fromCodePoint(parseInt(hex, 16)));
  }
  return map;
}
const ENTITY_CHARS = parseEntityTable();
const LEGACY_NAMES = new Set(LEGACY_ENTITIES.trim().split(/\s+/));

// Python html._invalid_charrefs: numeric references to C1 bytes read as windows-1252, NUL and CR.
const CP1252_C1 =
  '\u20ac\x81\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\x8d\u017d\x8f' +
  '\x90\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\x9d\u017e\u0178';

function isInvalidCodepoint(n: number): boolean {
  return (
    (n >= 0x1 && n <= 0x8) ||
    n === 0xb ||
    (n >= 0xe && n <= 0x1f) ||
    (n >= 0x7f && n <= 0x9f) ||
    (n >= 0xfdd0 && n <= 0xfdef) ||
    (n & 0xfffe) === 0xfffe
  );
}

function numericReference(n: number): string {
  if (n === 0) return '\ufffd';
  if (n === 0x0d) return '\r';
  if (n >= 0x80 && n <= 0x9f) return CP1252_C1[n - 0x80]!;
  if ((n >= 0xd800 && n <= 0xdfff) || n > 0x10ffff) return '\ufffd';
  if (isInvalidCodepoint(n)) return '';
  return String.fromCodePoint(n);
}

const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/g;

function replaceReference(_match: string, ref: string): string {
  if (ref[0] === '#') {
    const hex = ref[1] === 'x' || ref[1] === 'X';
    const digits = ref.slice(hex ? 2 : 1).replace(/;$/, '');
    const trimmed = digits.replace(/^0+/, '');
    // Anything longer than 8 significant digits is beyond U+10FFFF in either base.
    const n = trimmed.length > 8 ? Infinity : trimmed === '' ? 0 : parseInt(trimmed, hex ? 16 : 10);
    return numericReference(n);
  }
  if (ref.endsWith(';')) {
    const exact = ENTITY_CHARS.get(ref.slice(0, -1));
    if (exact !== undefined) return exact;
  }
  // Longest legacy name that prefixes the reference (Python: s[:x] for x from len−1 down to 2).
  for (let x = ref.length - 1; x > 1; x--) {
    const name = ref.slice(0, x);
    if (LEGACY_NAMES.has(name)) return ENTITY_CHARS.get(name)! + ref.slice(x);
  }
  if (!ref.endsWith(';') && LEGACY_NAMES.has(ref)) return ENTITY_CHARS.get(ref)!;
  return '&' + ref;
}

/** Python's html.unescape (with the entity table above). */
export function htmlUnescape(s: string): string {
  return s.includes('&') ? s.replace(CHARREF, replaceReference) : s;
}

// ---------------------------------------------------------------------------------------------------------------
// ftfy's simple repairs (see the header).
// eslint-disable-next-line no-control-regex -- these are exactly the control characters ftfy removes
const CONTROL_CHARS = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;
const LIGATURES: Record<string, string> = {
  '\u0132': 'IJ', '\u0133': 'ij', '\u0149': '\u02bcn', '\u01f1': 'DZ', '\u01f2': 'Dz', '\u01f3': 'dz',
  '\u01c4': 'D\u017d', '\u01c5': 'D\u017e', '\u01c6': 'd\u017e', '\u01c7': 'LJ', '\u01c8': 'Lj', '\u01c9': 'lj',
  '\u01ca': 'NJ', '\u01cb': 'Nj', '\u01cc': 'nj', '\ufb00': 'ff', '\ufb01': 'fi', '\ufb02': 'fl', '\ufb03': 'ffi',
  '\ufb04': 'ffl', '\ufb05': '\u017ft', '\ufb06': 'st',
};
const LIGATURE_RE = /[\u0132\u0133\u0149\u01c4-\u01cc\u01f1-\u01f3\ufb00-\ufb06]/g;
const WIDE_RE = /[\u3000\uff01-\uffef]/g;

function ftfyLite(text: string): string {
  return text
    .replace(CONTROL_CHARS, '')
    .replace(LIGATURE_RE, (c) => LIGATURES[c] ?? c)
    .replace(WIDE_RE, (c) => c.normalize('NFKC'))
    .replace(/[\u2018-\u201b]/g, "'")
    .replace(/[\u201c-\u201f]/g, '"')
    .normalize('NFC');
}

// Python's str.isspace() set, which `re.sub(r'\s+', ' ', text)` and str.strip() use (JavaScript's \s differs:
// it has U+FEFF and lacks U+001C–U+001F and U+0085).
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const WHITESPACE_RUN = new RegExp(`[${PY_SPACE}]+`, 'g');
const EDGE_SPACE = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');

/** openai CLIP's text cleaning: ftfy (simple repairs), html.unescape twice, strip, whitespace runs → " ", lower. */
export function cleanClipText(text: string): string {
  let t = ftfyLite(text);
  t = htmlUnescape(htmlUnescape(t)).replace(EDGE_SPACE, '');
  t = t.replace(WHITESPACE_RUN, ' ').replace(EDGE_SPACE, '');
  return t.toLowerCase();
}

// CLIP's split pattern; after cleaning the only whitespace left is " ". Case-insensitive as openai compiles it.
const CLIP_PATTERN = new RegExp(
  `<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|\\p{L}+|\\p{N}|[^${PY_SPACE}\\p{L}\\p{N}]+`,
  'giu',
);

/** openai CLIP's bytes_to_unicode: printable bytes map to themselves, the others to U+0100 upwards. */
function bytesToUnicode(): string[] {
  const table = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : 256 + n++);
  }
  return table;
}
const BYTE_CHARS = bytesToUnicode();
const utf8 = new TextEncoder();

// ---------------------------------------------------------------------------------------------------------------
interface BpeHeapEntry {
  rank: number;
  left: number;
  leftSym: string;
  rightSym: string;
}

/** A binary min-heap on (rank, left position): the lowest-ranked pair, leftmost first. */
class PairHeap {
  private readonly items: BpeHeapEntry[] = [];
  get size(): number {
    return this.items.length;
  }
  private less(a: BpeHeapEntry, b: BpeHeapEntry): boolean {
    return a.rank < b.rank || (a.rank === b.rank && a.left < b.left);
  }
  push(e: BpeHeapEntry): void {
    const h = this.items;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): BpeHeapEntry | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

const CACHE_LIMIT = 20_000;

export class ClipTokenizer {
  private readonly cache = new Map<string, number[]>();

  private constructor(
    private readonly encoder: ReadonlyMap<string, number>,
    private readonly ranks: ReadonlyMap<string, number>,
    readonly bosId: number,
    readonly eosId: number,
    readonly padId: number,
  ) {
    this.resetCache();
  }

  /** Load vocab.json, merges.txt and the special tokens (special_tokens_map.json, tokenizer_config.json). */
  static async load(folder: string): Promise<ClipTokenizer> {
    const vocabText = await readRequired(folder, 'vocab.json');
    const mergesText = await readRequired(folder, 'merges.txt');
    let vocab: unknown;
    try {
      vocab = parseBoundedJson(vocabText);
    } catch {
      throw invalidFile(folder, 'vocab.json', 'is not valid JSON');
    }
    if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) throw invalidFile(folder, 'vocab.json', 'is not a JSON object');
    const encoder = new Map<string, number>();
    for (const [token, id] of Object.entries(vocab as Record<string, unknown>)) {
      if (typeof id !== 'number' || !Number.isInteger(id)) throw invalidFile(folder, 'vocab.json', `maps "${token}" to a non-integer`);
      encoder.set(token, id);
    }
    const ranks = new Map<string, number>();
    const lines = mergesText.split(/\r?\n/);
    let rank = 0;
    for (const [i, line] of lines.entries()) {
      if (line === '' || (i === 0 && line.startsWith('#version'))) continue;
      const parts = line.split(' ');
      if (parts.length !== 2) throw invalidFile(folder, 'merges.txt', `line ${i + 1} is not a pair of symbols`);
      if (!ranks.has(line)) ranks.set(line, rank);
      rank++;
    }
    const special = await readSpecialTokens(folder);
    const idOf = (token: string, role: string): number => {
      const id = encoder.get(token) ?? special.addedIds.get(token);
      if (id === undefined) throw invalidFile(folder, 'vocab.json', `has no id for the ${role} token "${token}"`);
      return id;
    };
    const bos = idOf(special.bos ?? DEFAULT_BOS, 'start');
    const eos = idOf(special.eos ?? DEFAULT_EOS, 'end');
    const pad = special.pad === undefined ? eos : idOf(special.pad, 'padding');
    return new ClipTokenizer(encoder, ranks, bos, eos, pad);
  }

  /** BPE ids of the cleaned text, without BOS/EOS, untruncated. */
  bpeIds(text: string): number[] {
    const ids: number[] = [];
    const cleaned = cleanClipText(text);
    for (const match of cleaned.matchAll(CLIP_PATTERN)) {
      const word = match[0];
      let mapped = '';
      for (const b of utf8.encode(word)) mapped += BYTE_CHARS[b]!;
      for (const id of this.wordIds(mapped)) ids.push(id);
    }
    return ids;
  }

  /** Exactly 77 ids: BOS, the first 75 BPE ids, EOS, padding; `dropped` counts the BPE ids cut off. */
  encode(text: string): { ids: number[]; dropped: number } {
    const bpe = this.bpeIds(text);
    const kept = bpe.slice(0, CLIP_CONTENT_TOKENS);
    const ids = [this.bosId, ...kept, this.eosId];
    while (ids.length < CLIP_MAX_LENGTH) ids.push(this.padId);
    return { ids, dropped: bpe.length - kept.length };
  }

  private resetCache(): void {
    this.cache.clear();
    // openai seeds its cache with the two special tokens so they map to their own ids.
    for (const special of [DEFAULT_BOS, DEFAULT_EOS]) {
      const id = this.encoder.get(special);
      if (id !== undefined) this.cache.set(special, [id]);
    }
  }

  private wordIds(word: string): number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const ids = this.bpe(word).map((sym) => {
      const id = this.encoder.get(sym);
      if (id === undefined) throw new StudioError('internal', `The CLIP vocabulary has no entry for the BPE symbol "${sym}"; the tokenizer files are inconsistent.`);
      return id;
    });
    if (this.cache.size >= CACHE_LIMIT) this.resetCache();
    this.cache.set(word, ids);
    return ids;
  }

  /**
   * Byte-level BPE of one mapped word: symbols are its characters with `</w>` on the last one; repeatedly merge the
   * adjacent pair of lowest merge rank. openai merges every occurrence of that pair in one left-to-right pass;
   * merging one occurrence at a time from a heap ordered by (rank, position) gives the same result because a pair
   * formed by a merge always ranks after the merge that formed its parts (true of CLIP's merges.txt), and it
   * keeps very long words (10,000 CJK characters) at O(n log n).
   */
  private bpe(word: string): string[] {
    const chars = Array.from(word);
    const n = chars.length;
    if (n === 0) return [];
    const sym = chars.slice();
    sym[n - 1] += '</w>';
    if (n === 1) return sym;
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const alive = new Uint8Array(n).fill(1);
    const heap = new PairHeap();
    const consider = (left: number): void => {
      const right = next[left]!;
      if (right < 0) return;
      const rank = this.ranks.get(`${sym[left]} ${sym[right]}`);
      if (rank !== undefined) heap.push({ rank, left, leftSym: sym[left]!, rightSym: sym[right]! });
    };
    for (let i = 0; i + 1 < n; i++) consider(i);
    while (heap.size > 0) {
      const e = heap.pop()!;
      const left = e.left;
      const right = next[left]!;
      if (!alive[left] || right < 0 || sym[left] !== e.leftSym || sym[right] !== e.rightSym) continue; // stale
      sym[left] = e.leftSym + e.rightSym;
      alive[right] = 0;
      const after = next[right]!;
      next[left] = after;
      if (after >= 0) prev[after] = left;
      if (prev[left]! >= 0) consider(prev[left]!);
      consider(left);
    }
    const out: string[] = [];
    for (let i = 0; i >= 0; i = next[i]!) out.push(sym[i]!);
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------------
async function readRequired(folder: string, file: string): Promise<string> {
  const full = path.join(folder, file);
  try {
    return await fs.readFile(full, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new StudioError('not_found', `The tokenizer file ${file} is missing from ${folder}. Re-download the model or check the folder.`, { folder, file });
    }
    throw new StudioError('internal', `Could not read ${full}: ${(err as Error).message}`, { folder, file });
  }
}

function invalidFile(folder: string, file: string, problem: string): StudioError {
  return new StudioError('invalid_input', `${path.join(folder, file)} ${problem}. Re-download the model's tokenizer files.`, { folder, file });
}

async function readOptionalJson(folder: string, file: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path.join(folder, file), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StudioError('internal', `Could not read ${path.join(folder, file)}: ${(err as Error).message}`, { folder, file });
  }
  try {
    const value: unknown = parseBoundedJson(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    throw invalidFile(folder, file, 'is not valid JSON');
  }
}

function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/** bos/eos/pad token strings from special_tokens_map.json, else tokenizer_config.json; ids of added tokens. */
async function readSpecialTokens(folder: string): Promise<{ bos?: string; eos?: string; pad?: string; addedIds: Map<string, number> }> {
  const map = await readOptionalJson(folder, 'special_tokens_map.json');
  const config = await readOptionalJson(folder, 'tokenizer_config.json');
  const pick = (key: string): string | undefined => tokenContent(map?.[key]) ?? tokenContent(config?.[key]);
  const addedIds = new Map<string, number>();
  const decoder = config?.added_tokens_decoder;
  if (typeof decoder === 'object' && decoder !== null) {
    for (const [id, token] of Object.entries(decoder as Record<string, unknown>)) {
      const content = tokenContent(token);
      if (content !== undefined && /^\d+$/.test(id)) addedIds.set(content, Number(id));
    }
  }
  const out: { bos?: string; eos?: string; pad?: string; addedIds: Map<string, number> } = { addedIds };
  const bos = pick('bos_token');
  const eos = pick('eos_token');
  const pad = pick('pad_token');
  if (bos !== undefined) out.bos = bos;
  if (eos !== undefined) out.eos = eos;
  if (pad !== undefined) out.pad = pad;
  return out;
}
