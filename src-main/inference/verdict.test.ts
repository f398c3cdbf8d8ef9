// The pre-download verdict of a hostile repo: 300 ops nothing covers still make a verdict that fits the contract
// (issue 18 §3: past 4,000 characters models.event was dropped and models.list failed the client's schema).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder, encodeModel } from '../../e2e/support/onnx-builder';
import { portabilityVerdictSchema } from '../../src-shared/schemas/models';
import { clearProbeMemory } from './ort-probe';
import { checkModelGraphs } from './verdict';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-verdict-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('a verdict over many blocked ops', () => {
  it('names a few, counts the rest, and fits the contract', async () => {
    const g = new GraphBuilder('vae');
    let x = g.input('latent_sample', 'float32', [1, 4]);
    for (let i = 0; i < 300; i++) x = g.contrib(`HostileOperatorWithALongName${i}`, [x])[0] as string;
    g.output(x, 'float32', [1, 4]);
    const file = path.join(tmp, 'vae_decoder', 'model.onnx');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, encodeModel(g));
    clearProbeMemory();
    const verdict = await checkModelGraphs([{ file: 'vae_decoder/model.onnx', path: file }], { ep: 'cpu' });
    expect(verdict.verdict).toBe('blocked');
    expect(portabilityVerdictSchema.safeParse(verdict).success).toBe(true);
    expect(verdict.text).toMatch(/^cannot run here: com\.microsoft\.HostileOperatorWithALongName\d+, .* and 292 more have no kernel on the CPU and no rewrite \(in vae_decoder\/model\.onnx\)$/);
    expect(verdict.blocked).toHaveLength(200);
  });
});
