// The LoRA library: `<data>/loras/<name>.safetensors` (docs/architecture.md §3). Import copies a file in (never
// over an existing name; written under a temporary name with O_EXCL, verified by sha256, then renamed), after its
// header and keys were checked (lora/lora-file.ts: a hostile, other-family, LoHa/LoKr/DoRA or keyless file is
// refused with the reason). List gives name, base label, rank, size, title and trigger words from the
// file's __metadata__ (kohya ss_*, modelspec.*) and the hashes (lora/hashes.ts), kept in `.index.json` by
// size and mtime so files are hashed once. Remove also removes the derived graphs that hold the LoRA.
// A linked LoRA (issue #20 §3, the user's choice in the app or the CLI, never from a browser client) stays where it
// is: `.links.json` keeps its absolute path and the description (hashes) taken at import; `fileForUse` re-hashes it
// at each use and refuses it when it is missing or changed; remove forgets the entry and never touches the file.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../../src-shared/errors';
import { LORA_BASE_LABELS, type LoraBase } from '../../lora/keys';
import { inspectLoraFile } from '../../lora/lora-file';
import { removeGraphsOfLora } from '../../lora/lora-graphs';
import { loraHashes } from '../../lora/hashes';
import { SafetensorsFile } from '../../lora/safetensors';

export interface LoraEntry {
  name: string;
  file: string;
  bytes: number;
  sha256: string;
  autoV2: string;
  a1111: string;
  base: LoraBase;
  baseLabel: string;
  rank: number;
  title?: string;
  triggerWords: string[];
  /** Linked, not copied: `file` is the user's own file, outside the library folder. */
  linked?: boolean;
}

const NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._()+-]{0,119}$/u;

export function checkLoraName(name: string): string {
  const n = name.normalize('NFC').trim();
  if (!NAME.test(n) || n.includes('..')) throw new StudioError('invalid_input', `"${name}" is not a usable LoRA name (letters, digits, space . _ - ( ) +; at most 120)`);
  return n;
}

interface IndexEntry extends LoraEntry {
  mtimeMs: number;
}

export class LoraLibrary {
  constructor(
    readonly dir: string,
    private readonly graphsDir?: string,
  ) {}

  private indexFile(): string {
    return path.join(this.dir, '.index.json');
  }

  private readIndex(): Record<string, IndexEntry> {
    return this.readEntries(this.indexFile());
  }

  private linksFile(): string {
    return path.join(this.dir, '.links.json');
  }

  private readLinks(): Record<string, IndexEntry> {
    return this.readEntries(this.linksFile());
  }

  /** The index or the links file (ours, 0600): its entries by name, or none when it is missing or unreadable. */
  private readEntries(file: string): Record<string, IndexEntry> {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, IndexEntry>;
    } catch {
      return {};
    }
  }

  /** Replaces the index or the links file in one rename (a temporary file beside it first). */
  private writeEntries(file: string, entries: Record<string, IndexEntry>): void {
    const tmp = path.join(this.dir, `.${crypto.randomBytes(8).toString('hex')}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify(entries), { flag: 'wx', mode: 0o600 });
    fs.renameSync(tmp, file);
  }

  private writeLinks(links: Record<string, IndexEntry>): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.writeEntries(this.linksFile(), links);
  }

  /** A name is taken by a copied file or by a link (case-insensitive, as `find` resolves names). */
  private taken(name: string): boolean {
    const n = name.toLowerCase();
    return fs.existsSync(path.join(this.dir, `${name}.safetensors`)) || Object.keys(this.readLinks()).some((k) => k.toLowerCase() === n);
  }

  private writeIndex(index: Record<string, IndexEntry>): void {
    this.writeEntries(this.indexFile(), index);
  }

  private describe(name: string, file: string, st: fs.Stats): IndexEntry {
    const info = inspectLoraFile(file);
    const header = SafetensorsFile.open(file);
    const headerLength = header.header.dataStart - 8;
    header.close();
    const h = loraHashes(file, headerLength, info.metadata.sshs_model_hash);
    const m = info.metadata;
    const title = m['modelspec.title'] ?? m.ss_output_name;
    const trigger = (m['modelspec.trigger_phrase'] ?? m.ss_trigger_words ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t.length > 0)
      .slice(0, 50);
    return {
      name,
      file,
      bytes: st.size,
      ...h,
      base: info.base,
      baseLabel: LORA_BASE_LABELS[info.base],
      rank: info.rank,
      ...(title ? { title: title.slice(0, 200) } : {}),
      triggerWords: trigger,
      mtimeMs: st.mtimeMs,
    };
  }

  list(): LoraEntry[] {
    if (!fs.existsSync(this.dir)) return [];
    return [...this.listCopied(), ...Object.values(this.readLinks()).map(({ mtimeMs: _m, ...view }) => ({ ...view, linked: true }))].sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
  }

  private listCopied(): LoraEntry[] {
    const index = this.readIndex();
    const next: Record<string, IndexEntry> = {};
    const out: LoraEntry[] = [];
    for (const f of fs.readdirSync(this.dir).sort()) {
      if (!f.endsWith('.safetensors') || f.startsWith('.')) continue;
      const file = path.join(this.dir, f);
      const st = fs.lstatSync(file);
      if (!st.isFile()) continue;
      const name = f.slice(0, -'.safetensors'.length);
      const known = index[name];
      let entry: IndexEntry | undefined = known && known.bytes === st.size && known.mtimeMs === st.mtimeMs ? known : undefined;
      if (!entry) {
        try {
          entry = this.describe(name, file, st);
        } catch {
          continue; // a file that is not a usable LoRA is not listed
        }
      }
      next[name] = entry;
      const { mtimeMs: _m, ...view } = entry;
      out.push(view);
    }
    if (JSON.stringify(next) !== JSON.stringify(index)) {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      this.writeIndex(next);
    }
    return out;
  }

  /** By name (case-insensitive), by sha256 or by either short hash (A1111's 12 hex, AutoV2's 10). */
  find(ref: string): LoraEntry | undefined {
    const all = this.list();
    const r = ref.trim().toLowerCase();
    return all.find((e) => e.name.toLowerCase() === r) ?? all.find((e) => e.sha256 === r || e.a1111 === r || e.autoV2 === r);
  }

  /**
   * Copies a LoRA file in under `name` (default: the file's name), refusing an unusable file with the reason; with
   * `link`, records the file where it is (absolute path, hashes at import) instead of copying it.
   */
  import(source: string, name?: string, opts: { link?: boolean } = {}): LoraEntry {
    const info = inspectLoraFile(source); // refuses hostile / other-family / unsupported files first
    void info;
    const base = checkLoraName(name ?? path.basename(source).replace(/\.safetensors$/iu, ''));
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = path.join(this.dir, `${base}.safetensors`);
    if (this.taken(base)) throw new StudioError('conflict', `A LoRA named "${base}" is already in the library.`);
    if (opts.link) {
      if (!path.isAbsolute(source)) throw new StudioError('invalid_input', `A linked LoRA needs an absolute path: ${source}`);
      const abs = fs.realpathSync(source);
      const st = fs.statSync(abs);
      if (!st.isFile()) throw new StudioError('invalid_input', `Not a file: ${source}`);
      const entry = this.describe(base, abs, st);
      this.writeLinks({ ...this.readLinks(), [base]: entry });
      const { mtimeMs: _m, ...view } = entry;
      return { ...view, linked: true };
    }
    if (fs.existsSync(file)) throw new StudioError('conflict', `A LoRA named "${base}" is already in the library.`);
    const tmp = path.join(this.dir, `.${crypto.randomBytes(8).toString('hex')}.tmp`);
    const expected = crypto.createHash('sha256').update(fs.readFileSync(source)).digest('hex');
    fs.copyFileSync(source, tmp, fs.constants.COPYFILE_EXCL);
    const got = crypto.createHash('sha256').update(fs.readFileSync(tmp)).digest('hex');
    if (got !== expected) {
      fs.rmSync(tmp, { force: true });
      throw new StudioError('verification_failed', `The copy of ${path.basename(source)} does not match the original (sha256).`);
    }
    fs.renameSync(tmp, file);
    const entry = this.list().find((e) => e.name === base);
    if (!entry) throw new StudioError('internal', `${base} was copied but cannot be listed.`);
    return entry;
  }

  /**
   * The file the worker may read for `entry`. A copied LoRA is the library's own file. A linked one is re-hashed now
   * (the whole file, sha256) and refused when it is missing or no longer the file imported.
   */
  fileForUse(entry: LoraEntry): string {
    if (!entry.linked) return entry.file;
    let st: fs.Stats;
    try {
      st = fs.statSync(entry.file);
    } catch {
      throw new StudioError('not_found', `The linked LoRA "${entry.name}" is missing: ${entry.file} (import it again, or remove it from the library).`);
    }
    const changed = (): StudioError =>
      new StudioError('verification_failed', `The linked LoRA "${entry.name}" changed since it was imported (${entry.file} no longer has sha256 ${entry.sha256.slice(0, 12)}…): import it again to use it.`);
    if (!st.isFile() || st.size !== entry.bytes) throw changed();
    const hash = crypto.createHash('sha256');
    const fd = fs.openSync(entry.file, 'r');
    try {
      const buf = Buffer.allocUnsafe(4 << 20);
      for (let n = fs.readSync(fd, buf); n > 0; n = fs.readSync(fd, buf)) hash.update(buf.subarray(0, n));
    } finally {
      fs.closeSync(fd);
    }
    if (hash.digest('hex') !== entry.sha256) throw changed();
    return entry.file;
  }

  rename(ref: string, to: string): LoraEntry {
    const entry = this.find(ref);
    if (!entry) throw new StudioError('not_found', `No LoRA "${ref}" in the library.`);
    const name = checkLoraName(to);
    const file = path.join(this.dir, `${name}.safetensors`);
    if (name.toLowerCase() !== entry.name.toLowerCase() && this.taken(name)) throw new StudioError('conflict', `A LoRA named "${name}" is already in the library.`);
    if (entry.linked) {
      const links = this.readLinks();
      const rec = links[entry.name];
      if (!rec) throw new StudioError('not_found', `No LoRA "${ref}" in the library.`);
      delete links[entry.name];
      links[name] = { ...rec, name };
      this.writeLinks(links);
      return { ...this.find(name)! };
    }
    if (fs.existsSync(file)) throw new StudioError('conflict', `A LoRA named "${name}" is already in the library.`);
    fs.renameSync(entry.file, file);
    return this.list().find((e) => e.name === name) as LoraEntry;
  }

  remove(ref: string): LoraEntry {
    const entry = this.find(ref);
    if (!entry) throw new StudioError('not_found', `No LoRA "${ref}" in the library.`);
    if (entry.linked) {
      // Only the library's record: the user's own file is never deleted.
      const links = this.readLinks();
      delete links[entry.name];
      this.writeLinks(links);
    } else fs.rmSync(entry.file, { force: true });
    if (this.graphsDir) removeGraphsOfLora(this.graphsDir, entry.sha256);
    this.list();
    return entry;
  }
}
