// Texts made from untrusted lists (op names of a hostile graph, problems of a folder) are bounded where they
// are made, so they always fit the contract's string limits (issue 18 §3): "A, B, C and 298 more".

/** `text` cut to at most `max` characters (an ellipsis marks the cut). */
export function boundText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/**
 * "A", "A and B", "A, B and C", or past `shown` items "A, B, C and 298 more"; each item cut to `itemMax`.
 * `total`: how many there are when `items` holds only some of them.
 */
export function listWithMore(items: readonly string[], shown = 8, itemMax = 200, total = items.length): string {
  const cut = items.slice(0, shown).map((i) => boundText(i, itemMax));
  const rest = Math.max(total, items.length) - cut.length;
  if (rest > 0) return `${cut.join(', ')} and ${rest} more`;
  return cut.length <= 1 ? (cut[0] ?? '') : `${cut.slice(0, -1).join(', ')} and ${cut[cut.length - 1]}`;
}
