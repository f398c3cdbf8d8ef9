// JSON from untrusted files (a model folder's scheduler and tokenizer configs) parsed with a bounded nesting depth:
// a config nested 100,000 deep ended as "Maximum call stack size exceeded" (issue 18 §4). Real configs nest a few
// levels (tokenizer.json about 6).

export const MAX_JSON_DEPTH = 64;

/** The deepest nesting of objects/arrays in a JSON text (strings skipped); stops counting past `limit`. */
export function jsonDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/** JSON.parse, or a SyntaxError when the text nests deeper than `maxDepth`. */
export function parseBoundedJson(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  if (jsonDepth(text, maxDepth) > maxDepth) throw new SyntaxError(`JSON nested deeper than ${maxDepth} levels`);
  return JSON.parse(text);
}
