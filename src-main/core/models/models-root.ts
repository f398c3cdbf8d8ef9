// The one gate for changes under the models folder: every mkdir, rename and rm of the models room
// goes through a ModelsRoot, which resolves symlinks on both sides (the folder itself and the
// deepest existing part of the target) and refuses anything that is not strictly inside it. A
// hostile repo id or a planted symlink can then never make the studio write or delete elsewhere.
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../../src-shared/errors';

export class ModelsRoot {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  /**
   * The real path of `target`, which must lie strictly inside the models folder (the folder itself
   * is refused too). Parts that do not exist yet are taken as written (they cannot be symlinks).
   */
  async check(target: string, what = 'change'): Promise<string> {
    const abs = path.resolve(target);
    const refuse = () =>
      new StudioError('invalid_input', `Refusing to ${what} ${abs}: it is not inside the models folder ${this.dir}.`, { path: abs, modelsDir: this.dir });
    if (!isStrictlyInside(this.dir, abs)) throw refuse();
    const realRoot = await realOrSelf(this.dir);
    const real = await realDeepest(abs);
    if (!isStrictlyInside(realRoot, real)) throw refuse();
    return real;
  }

  async mkdir(dir: string): Promise<void> {
    await fs.promises.mkdir(this.dir, { recursive: true });
    await this.check(dir, 'create');
    await fs.promises.mkdir(dir, { recursive: true });
    // A symlink raced in between the check and the mkdir would show here.
    await this.check(dir, 'create');
  }

  async rename(from: string, to: string): Promise<void> {
    await this.check(from, 'move');
    await this.check(to, 'move a file to');
    await fs.promises.rename(from, to);
  }

  /** rm -rf of a file or folder inside the models folder (missing is fine). */
  async rm(target: string): Promise<void> {
    await this.check(target, 'delete');
    await fs.promises.rm(target, { recursive: true, force: true });
  }

  /** Removes `dir` and then up to `levels - 1` of its parents while they are empty, never the models folder itself. */
  async removeEmptyParents(dir: string, levels: number): Promise<void> {
    let current = path.resolve(dir);
    for (let i = 0; i < levels; i++) {
      if (!isStrictlyInside(this.dir, current)) return;
      try {
        await this.check(current, 'delete');
        await fs.promises.rmdir(current);
      } catch {
        return;
      }
      current = path.dirname(current);
    }
  }
}

export function isStrictlyInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

async function realOrSelf(p: string): Promise<string> {
  return fs.promises.realpath(p).catch(() => p);
}

/** realpath of the deepest existing ancestor of `abs`, with the rest appended. */
async function realDeepest(abs: string): Promise<string> {
  const rest: string[] = [];
  let current = abs;
  for (;;) {
    try {
      const real = await fs.promises.realpath(current);
      return path.join(real, ...rest.reverse());
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return abs;
      rest.push(path.basename(current));
      current = parent;
    }
  }
}
