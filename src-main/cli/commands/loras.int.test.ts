// `sd35-studio loras …` and `generate --lora` as scripts use them (node out/main/cli.js), on the tiny
// diffusers-named model (issue #20 §3): import, rename (conflict and missing refused), list; a LoRA whose keys
// partly match nothing generates with a warning on stderr naming them, and the PNG carries the LoRA in both
// metadata chunks (`<lora:…>` tag + `Lora hashes` in `parameters`; hashes, strength, applied and unmatched in ours).
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../../e2e/support/tiny-model';
import { TINY_MMDIT } from '../../../e2e/support/tiny-mmdit';
import { PARAMETERS_KEYWORD, STUDIO_KEYWORD, parseA1111, parseTextChunks } from '../../../src-shared/metadata';
import { readPngInfo } from '../../formats/png';
import { writeTestLora } from '../../testing/lora/lora-files';
import { CLI } from '../../testing/processes';
import { removeTempDirs, tempDir } from '../../testing/temp';

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args, '--data-dir', dataDir], { encoding: 'utf8', env: { ...process.env, SD35_ORT_THREADS: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

let model: string;
let dataDir: string;
let loraFile: string;
const D = TINY_MMDIT.hidden;

beforeAll(async () => {
  const root = tempDir('sd35-loras-cli-');
  model = path.join(root, 'tiny-mmdit');
  await writeTinyModel(model, { layout: 'tensorstack', io: 'fp16', size: 'micro', mmdit: 'large', generatedTokenizers: true });
  dataDir = path.join(root, 'data');
  loraFile = path.join(root, 'style-a.safetensors');
  // One layer the tiny transformer has, one it does not (4 joint blocks: block 9 matches nothing).
  writeTestLora(loraFile, 'diffusers', [
    { module: 'transformer_blocks.1.attn.to_q', rank: 4, in: D, out: D, alpha: 4, seed: 1 },
    { module: 'transformer_blocks.9.attn.to_k', rank: 4, in: D, out: D, alpha: 4, seed: 2 },
  ]);
}, 120_000);

afterAll(removeTempDirs);

describe('sd35-studio loras and generate --lora', { timeout: 300_000 }, () => {
  let a1111Hash = '';

  it('imports, renames (refusing a taken or unknown name) and lists', () => {
    const imp = run(['loras', 'import', loraFile, '--json']);
    expect(imp.code, imp.stderr).toBe(0);
    const entry = jsonLines(imp.stdout)[0]!;
    expect(entry.name).toBe('style-a');
    expect(entry.sha256).toBe(crypto.createHash('sha256').update(fs.readFileSync(loraFile)).digest('hex'));
    a1111Hash = entry.a1111Hash as string;

    const ren = run(['loras', 'rename', 'style-a', 'ink wash', '--json']);
    expect(ren.code, ren.stderr).toBe(0);
    expect(jsonLines(ren.stdout)[0]).toMatchObject({ name: 'ink wash', sha256: entry.sha256, a1111Hash });

    // A second copy under another name, then a rename onto a taken name and of an unknown one.
    expect(run(['loras', 'import', loraFile, '--name', 'other']).code).toBe(0);
    const taken = run(['loras', 'rename', 'other', 'ink wash']);
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toContain('already in the library');
    const missing = run(['loras', 'rename', 'nope', 'x']);
    expect(missing.code).toBe(7);
    expect(run(['loras', 'rename', 'other']).code).toBe(2);
    expect(run(['loras', 'remove', 'other']).code).toBe(0);

    const list = run(['loras', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(jsonLines(list.stdout).map((e) => e.name)).toEqual(['ink wash']);
  });

  it('generate --lora warns about the keys that matched nothing and writes the LoRA into both metadata chunks', () => {
    const r = run(['generate', '--model', model, '--prompt', 'a red cat', '--seed', '7', '--steps', '2', '--width', '64', '--height', '64', '--ep', 'cpu', '--lora', 'ink wash:0.5', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Warning: LoRA "ink wash": 1 layer matched nothing in this model and was skipped: transformer_blocks.9.attn.to_k');
    // The warning is on stderr only: stdout carries only the image's JSON line.
    const [line] = jsonLines(r.stdout);
    const info = readPngInfo(fs.readFileSync(line!.path as string));
    const parameters = info.chunks.find((c) => c.keyword === PARAMETERS_KEYWORD)!.text;
    expect(parameters.split('\n')[0]).toBe('a red cat <lora:ink wash:0.5>');
    expect(parameters).toContain(`Lora hashes: "ink wash: ${a1111Hash}"`);
    expect(parseA1111(parameters).loras).toEqual([{ name: 'ink wash', strength: 0.5, a1111Hash }]);
    const parsed = parseTextChunks(info.chunks);
    expect(parsed?.source).toBe('sd35studio');
    // The encoders saw the prompt without the tag: our chunk keeps it as given.
    expect(parsed?.studio?.prompt).toBe('a red cat');
    expect(parsed?.studio?.loras).toEqual([
      {
        name: 'ink wash',
        sha256: crypto.createHash('sha256').update(fs.readFileSync(loraFile)).digest('hex'),
        a1111Hash,
        autoV2: crypto.createHash('sha256').update(fs.readFileSync(loraFile)).digest('hex').slice(0, 10),
        strength: 0.5,
        applied: { transformer: 1 },
        unmatched: ['transformer_blocks.9.attn.to_k'],
      },
    ]);
    expect(info.chunks.some((c) => c.keyword === STUDIO_KEYWORD)).toBe(true);
  });

  it('import --link keeps the file where it is: generate uses it, refuses it once changed, and remove keeps the file', () => {
    const linkedFile = path.join(path.dirname(loraFile), 'mine', 'linked.safetensors');
    fs.mkdirSync(path.dirname(linkedFile), { recursive: true });
    // Its own tensors (a file with the same bytes as a copied entry would resolve to that entry by sha256).
    writeTestLora(linkedFile, 'diffusers', [{ module: 'transformer_blocks.2.attn.to_v', rank: 4, in: D, out: D, alpha: 4, seed: 5 }]);
    const original = fs.readFileSync(linkedFile);
    const imp = run(['loras', 'import', linkedFile, '--link', '--json']);
    expect(imp.code, imp.stderr).toBe(0);
    expect(jsonLines(imp.stdout)[0]).toMatchObject({ name: 'linked', linked: true, path: fs.realpathSync(linkedFile) });
    expect(fs.existsSync(path.join(dataDir, 'loras', 'linked.safetensors'))).toBe(false);
    const gen = ['generate', '--model', model, '--prompt', 'a red cat', '--seed', '7', '--steps', '2', '--width', '64', '--height', '64', '--ep', 'cpu', '--lora', 'linked:0.5', '--json'];
    const ok = run(gen);
    expect(ok.code, ok.stderr).toBe(0);
    // One byte of the tensor data changed, same size: refused at use, naming why.
    const changed = Buffer.from(original);
    changed.writeUInt8(changed.readUInt8(changed.length - 1) ^ 0xff, changed.length - 1);
    fs.writeFileSync(linkedFile, changed);
    const refused = run(gen);
    expect(refused.code, refused.stdout + refused.stderr).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(/The linked LoRA \\?"linked\\?" changed since it was imported/u);
    fs.writeFileSync(linkedFile, original);
    expect(run(['loras', 'remove', 'linked']).code).toBe(0);
    expect(fs.readFileSync(linkedFile).equals(original)).toBe(true);
    expect(jsonLines(run(['loras', 'list', '--json']).stdout).map((e) => e.name)).toEqual(['ink wash']);
  });
});
