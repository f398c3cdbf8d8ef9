import { describe, expect, it } from 'vitest';
import { baseFromShapes, parseLoraKeys } from './keys';

const pair = (stem: string, style: 'peft' | 'kohya' = 'kohya'): string[] =>
  style === 'peft' ? [`${stem}.lora_A.weight`, `${stem}.lora_B.weight`] : [`${stem}.lora_down.weight`, `${stem}.lora_up.weight`, `${stem}.alpha`];

describe('parseLoraKeys: key styles → diffusers modules', () => {
  it('diffusers/PEFT', () => {
    const p = parseLoraKeys([...pair('transformer.transformer_blocks.7.attn.to_q', 'peft'), ...pair('text_encoder_2.text_model.encoder.layers.3.mlp.fc1', 'peft')]);
    expect(p.layers.map((l) => [l.component, l.module])).toEqual([
      ['transformer', 'transformer_blocks.7.attn.to_q'],
      ['text_encoder_2', 'text_model.encoder.layers.3.mlp.fc1'],
    ]);
    expect(p.styles).toEqual(['diffusers']);
    expect(p.layers[0]?.alpha).toBeUndefined();
  });

  it('kohya: fused qkv split into three row slices, SAI names mapped (x_block → attn, context_block → add_*)', () => {
    const p = parseLoraKeys([
      ...pair('lora_unet_joint_blocks_3_x_block_attn_qkv'),
      ...pair('lora_unet_joint_blocks_3_context_block_attn_qkv'),
      ...pair('lora_unet_joint_blocks_3_x_block_attn2_qkv'),
      ...pair('lora_unet_joint_blocks_3_x_block_attn_proj'),
      ...pair('lora_unet_joint_blocks_3_context_block_attn_proj'),
      ...pair('lora_unet_joint_blocks_3_x_block_mlp_fc1'),
      ...pair('lora_unet_joint_blocks_3_context_block_mlp_fc2'),
      ...pair('lora_unet_joint_blocks_3_x_block_adaLN_modulation_1'),
      ...pair('lora_unet_final_layer_adaLN_modulation_1'),
      ...pair('lora_te1_text_model_encoder_layers_0_self_attn_q_proj'),
      ...pair('lora_te3_encoder_block_2_layer_0_SelfAttention_q'),
    ]);
    expect(p.layers.map((l) => `${l.component}:${l.module}${l.slice ? `[${l.slice.index}/${l.slice.parts}]` : ''}`)).toEqual([
      'transformer:transformer_blocks.3.attn.to_q[0/3]',
      'transformer:transformer_blocks.3.attn.to_k[1/3]',
      'transformer:transformer_blocks.3.attn.to_v[2/3]',
      'transformer:transformer_blocks.3.attn.add_q_proj[0/3]',
      'transformer:transformer_blocks.3.attn.add_k_proj[1/3]',
      'transformer:transformer_blocks.3.attn.add_v_proj[2/3]',
      'transformer:transformer_blocks.3.attn2.to_q[0/3]',
      'transformer:transformer_blocks.3.attn2.to_k[1/3]',
      'transformer:transformer_blocks.3.attn2.to_v[2/3]',
      'transformer:transformer_blocks.3.attn.to_out.0',
      'transformer:transformer_blocks.3.attn.to_add_out',
      'transformer:transformer_blocks.3.ff.net.0.proj',
      'transformer:transformer_blocks.3.ff_context.net.2',
      'transformer:transformer_blocks.3.norm1.linear',
      'transformer:norm_out.linear',
      'text_encoder:text_model.encoder.layers.0.self_attn.q_proj',
      'text_encoder_3:encoder.block.2.layer.0.SelfAttention.q',
    ]);
    expect(p.layers.every((l) => l.alpha?.endsWith('.alpha'))).toBe(true);
    expect(p.layers.filter((l) => l.component === 'transformer').every((l) => l.sai)).toBe(true);
  });

  it('ComfyUI diffusion_model.joint_blocks, OneTrainer lora_transformer_, SimpleTuner lycoris_', () => {
    const p = parseLoraKeys([
      ...pair('diffusion_model.joint_blocks.0.x_block.attn.qkv'),
      ...pair('lora_transformer_transformer_blocks_5_attn_to_out_0'),
      ...pair('lora_transformer_transformer_blocks_5_ff_context_net_0_proj'),
      ...pair('lycoris_transformer_blocks_1_norm1_context_linear'),
      ...pair('lycoris_context_embedder'),
    ]);
    expect(p.layers.map((l) => l.module)).toEqual([
      'transformer_blocks.0.attn.to_q',
      'transformer_blocks.0.attn.to_k',
      'transformer_blocks.0.attn.to_v',
      'transformer_blocks.5.attn.to_out.0',
      'transformer_blocks.5.ff_context.net.0.proj',
      'transformer_blocks.1.norm1_context.linear',
      'context_embedder',
    ]);
    expect(p.styles.sort()).toEqual(['comfyui', 'lycoris', 'onetrainer']);
  });

  it('keys that name nothing known are listed', () => {
    const p = parseLoraKeys([...pair('transformer.transformer_blocks.1.attn.to_q', 'peft'), ...pair('lora_unet_joint_blocks_1_x_block_weird'), 'stray.weight']);
    expect(p.layers).toHaveLength(1);
    expect(p.unknown.sort()).toEqual(['lora_unet_joint_blocks_1_x_block_weird', 'stray']);
  });

  it('refuses LoHa, LoKr and DoRA naming them', () => {
    expect(() => parseLoraKeys(['lycoris_transformer_blocks_0_attn_to_q.hada_w1_a', 'lycoris_transformer_blocks_0_attn_to_q.hada_w1_b'])).toThrow(/LoHa/u);
    expect(() => parseLoraKeys(['lora_unet_joint_blocks_0_x_block_attn_qkv.lokr_w1'])).toThrow(/LoKr/u);
    expect(() => parseLoraKeys([...pair('lora_unet_joint_blocks_0_x_block_attn_qkv'), 'lora_unet_joint_blocks_0_x_block_attn_qkv.dora_scale'])).toThrow(/DoRA/u);
    expect(() => parseLoraKeys([...pair('transformer.transformer_blocks.0.attn.to_q', 'peft'), 'transformer.transformer_blocks.0.attn.to_q.lora_magnitude_vector'])).toThrow(/DoRA/u);
  });

  it('recognises other families by their keys and names them', () => {
    const shapes = (w: number) => (n: string) => (n.includes('attn2_to_k') && n.endsWith('lora_down.weight') ? [4, w] : [4, 320]);
    const sd15 = [...pair('lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k'), ...pair('lora_te_text_model_encoder_layers_0_mlp_fc1')];
    expect(() => parseLoraKeys(sd15, shapes(768))).toThrow(/for Stable Diffusion 1\.5/u);
    expect(() => parseLoraKeys(sd15, shapes(1024))).toThrow(/for Stable Diffusion 2\.x/u);
    expect(() => parseLoraKeys([...pair('lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k'), ...pair('lora_te2_text_model_encoder_layers_0_mlp_fc1')], shapes(2048))).toThrow(/for SDXL/u);
    expect(() => parseLoraKeys([...pair('lora_unet_double_blocks_0_img_attn_qkv'), ...pair('lora_unet_single_blocks_3_linear1')])).toThrow(/for Flux/u);
    expect(() => parseLoraKeys([...pair('transformer.single_transformer_blocks.3.attn.to_q', 'peft')])).toThrow(/for Flux/u);
  });
});

describe('baseFromShapes (a label)', () => {
  const shapes = (hidden: number) => (n: string) => (n.endsWith('lora_down.weight') || n.endsWith('lora_A.weight') ? [16, hidden] : [hidden, 16]);
  it('2432 wide = SD3.5 Large; 1536 with attn2 = SD3.5 Medium; 1536 without = SD3 Medium shape', () => {
    const large = parseLoraKeys(pair('transformer.transformer_blocks.37.attn.to_q', 'peft'));
    expect(baseFromShapes(large, shapes(2432))).toBe('sd3.5-large');
    const medium = parseLoraKeys([...pair('transformer.transformer_blocks.1.attn.to_q', 'peft'), ...pair('transformer.transformer_blocks.1.attn2.to_q', 'peft')]);
    expect(baseFromShapes(medium, shapes(1536))).toBe('sd3.5-medium');
    const sd3 = parseLoraKeys(pair('lora_unet_joint_blocks_1_x_block_attn_qkv'));
    expect(baseFromShapes(sd3, shapes(1536))).toBe('sd3-medium');
    const te = parseLoraKeys(pair('lora_te1_text_model_encoder_layers_0_mlp_fc1'));
    expect(baseFromShapes(te, shapes(768))).toBe('sd3');
  });
});
