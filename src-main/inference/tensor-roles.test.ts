import { describe, expect, it } from 'vitest';
import { StudioError } from '../../src-shared/errors';
import type { ComponentIo } from '../model-folder/onnx-graph';
import { resolveClipRoles, resolveTransformerRoles } from './tensor-roles';

describe('role resolution', () => {
  const ctx = { folder: '/models/x', file: 'text_encoder/model.onnx' };
  const hidden = (n: number, width: number): ComponentIo['outputs'] =>
    Array.from({ length: n + 1 }, (_, k) => ({ name: `hidden_states.${k}`, type: 'float32', dims: ['b', 's', width] }));

  it('uses the penultimate layer hidden_states.{N-1} and text_embeds when the export has them', () => {
    const roles = resolveClipRoles(
      ctx,
      {
        inputs: [{ name: 'input_ids', type: 'int64', dims: ['b', 's'] }],
        outputs: [
          { name: 'text_embeds', type: 'float32', dims: ['b', 768] },
          { name: 'last_hidden_state', type: 'float32', dims: ['b', 's', 768] },
          ...hidden(12, 768),
        ],
      },
      768,
    );
    expect(roles).toEqual({
      ids: { name: 'input_ids', type: 'int64' },
      hidden: { name: 'hidden_states.11', type: 'float32' },
      pooled: { name: 'text_embeds', type: 'float32' },
      hiddenKind: 'penultimate',
    });
  });

  it('falls back to last_hidden_state and pooler_output (TensorStack CLIP-L), int32 ids, fp16', () => {
    const roles = resolveClipRoles(
      ctx,
      {
        inputs: [{ name: 'input_ids', type: 'int32', dims: ['batch', 'sequence'] }],
        outputs: [
          { name: 'last_hidden_state', type: 'float16', dims: ['batch', 'sequence', 768] },
          { name: 'pooler_output', type: 'float16', dims: ['batch', 768] },
        ],
      },
      768,
    );
    expect(roles.hiddenKind).toBe('last');
    expect(roles.hidden).toEqual({ name: 'last_hidden_state', type: 'float16' });
    expect(roles.pooled).toEqual({ name: 'pooler_output', type: 'float16' });
    expect(roles.ids.type).toBe('int32');
  });

  it('names the folder, file and tensor when a role is missing', () => {
    let err: StudioError | undefined;
    try {
      resolveTransformerRoles(
        { folder: '/models/x', file: 'unet/model.onnx' },
        {
          inputs: [
            { name: 'hidden_states', type: 'float32', dims: ['B', 16, 'h', 'w'] },
            { name: 'timestep', type: 'float32', dims: ['B'] },
            { name: 'encoder_hidden_states', type: 'float32', dims: ['B', 'seq', 4096] },
            { name: 'pooled', type: 'float32', dims: ['B', 2048] },
          ],
          outputs: [{ name: 'out_sample', type: 'float32', dims: ['B', 16, 'h', 'w'] }],
        },
      );
    } catch (e) {
      err = e as StudioError;
    }
    expect(err).toBeInstanceOf(StudioError);
    expect(err?.code).toBe('invalid_input');
    expect(err?.message).toContain('/models/x');
    expect(err?.message).toContain('unet/model.onnx');
    expect(err?.message).toContain("'pooled_projections'");
    expect(err?.details).toMatchObject({ folder: '/models/x', file: 'unet/model.onnx', tensor: 'pooled_projections' });
  });

  it('refuses wrong element types and widths', () => {
    const io = (idsType: string, width: number): ComponentIo => ({
      inputs: [{ name: 'input_ids', type: idsType, dims: ['b', 's'] }],
      outputs: [{ name: 'text_embeds', type: 'float32', dims: ['b', width] }, ...hidden(32, width)],
    });
    expect(() => resolveClipRoles(ctx, io('float32', 1280), 1280)).toThrow(/float32, expected int32 or int64/);
    expect(() => resolveClipRoles(ctx, io('int64', 1024), 1280)).toThrow(/1024, expected 1280/);
    expect(resolveClipRoles(ctx, io('int64', 1280), 1280).hidden.name).toBe('hidden_states.31');
  });
});
