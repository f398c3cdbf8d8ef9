// User search text → a safe FTS5 MATCH expression.
//
// The search box is not a query language: every word the user types becomes a double-quoted FTS5
// string (inner quotes doubled), so AND/OR/NOT/NEAR, `-`, `(`, `:`, `^`, `*` and column filters are
// plain text and can never produce a syntax error. Words are runs of letters and digits — the same
// characters the unicode61 tokenizer keeps — and everything else separates them. Text inside
// balanced double quotes is a phrase ("red car"); an unclosed quote runs to the end. The last word
// is prefix-matched (`"ca"*`) unless the text ends with a space or a closing quote (or it is a single
// ASCII letter or digit), so results follow the user as they type. Terms are ANDed. Text with no letters or digits gives undefined.

export type FtsColumn = 'prompt' | 'negative_prompt';

export interface FtsQuery {
  /** The MATCH expression. */
  match: string;
  /** The words/phrases searched for, for display ("Searching for …"). */
  terms: string[];
}

/** Bounds so a pasted novel cannot build a pathological query. */
export const MAX_SEARCH_TERMS = 32;
export const MAX_SEARCH_CHARS = 1000;

const WORD_CHAR = /[\p{L}\p{N}\p{Co}\p{M}]/u;
const INDEXED_CHAR = /[\p{L}\p{N}\p{Co}]/u;

interface Term {
  words: string[];
  phrase: boolean;
}

export function buildFtsQuery(text: string, columns: readonly FtsColumn[] = ['prompt']): FtsQuery | undefined {
  const input = text.slice(0, MAX_SEARCH_CHARS);
  const terms: Term[] = [];
  let inPhrase = false;
  let phraseWords: string[] = [];
  let word = '';
  let lastWordOpen = false; // the text ends inside a word (prefix-match it)

  const endWord = (): void => {
    if (word !== '' && INDEXED_CHAR.test(word)) {
      if (inPhrase) phraseWords.push(word);
      else terms.push({ words: [word], phrase: false });
    }
    word = '';
  };

  for (const ch of input) {
    if (ch === '"') {
      endWord();
      if (inPhrase) {
        if (phraseWords.length) terms.push({ words: phraseWords, phrase: true });
        phraseWords = [];
      }
      inPhrase = !inPhrase;
      lastWordOpen = false;
      continue;
    }
    if (WORD_CHAR.test(ch)) {
      word += ch;
      lastWordOpen = true;
    } else {
      endWord();
      lastWordOpen = false;
    }
  }
  endWord();
  if (inPhrase && phraseWords.length) terms.push({ words: phraseWords, phrase: true });

  const kept = terms.slice(0, MAX_SEARCH_TERMS);
  if (kept.length === 0) return undefined;
  // A one-letter ASCII prefix ("a*") would merge the lists of every word starting with that letter;
  // it is matched as a whole word until a second letter arrives (the prefix index starts at 2).
  const lastTerm = kept[kept.length - 1]!;
  const lastWord = lastTerm.words[lastTerm.words.length - 1]!;
  const prefixLast = lastWordOpen && kept.length === terms.length && ([...lastWord].length >= 2 || /[^\p{ASCII}]/u.test(lastWord));
  const parts = kept.map((t, i) => {
    const quoted = `"${t.words.join(' ').replace(/"/g, '""')}"`;
    return prefixLast && i === kept.length - 1 ? `${quoted}*` : quoted;
  });
  const body = parts.join(' ');
  const cols = [...new Set(columns)];
  const match = cols.length === 0 ? body : `{${cols.join(' ')}} : (${body})`;
  return { match, terms: kept.map((t) => t.words.join(' ')) };
}
