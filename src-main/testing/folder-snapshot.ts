// Test helper: what a folder holds, as "<relative path> <size>" per file, sorted — what "left as it was" means on disk
// for the tests that prove a failed or cancelled change touched nothing (the bytes are `models verify`'s to check).
import fs from 'node:fs';
import path from 'node:path';

export function fileSizes(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out.push(`${r} ${fs.statSync(path.join(dir, r)).size}`);
    }
  };
  walk('');
  return out.sort();
}
