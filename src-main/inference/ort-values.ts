// Tensors in and out of an ORT session: token ids as the graph's integer type, floats as the graph's float
// type (fp16 as Uint16Array bits, ort.ts), outputs back to float32, and a session's I/O as the graph reader's
// ComponentIo (so tensor-roles.ts resolves roles from either).
import { ort } from './ort';
import { StudioError } from '../../src-shared/errors';
import { float16ToFloat32, float32ToFloat16 } from '../formats/float16';
import type { ComponentIo, TensorMeta } from '../model-folder/onnx-graph';
import type { FloatType, IdsType, TensorRole } from './tensor-roles';

export function idsTensor(role: TensorRole<IdsType>, ids: readonly (readonly number[])[]): ort.Tensor {
  const batch = ids.length;
  const seq = ids[0]?.length ?? 0;
  if (batch === 0 || ids.some((row) => row.length !== seq)) {
    throw new StudioError('internal', 'Token id rows must be non-empty and of equal length.');
  }
  const flat = ids.flat();
  const data = role.type === 'int64' ? BigInt64Array.from(flat, (v) => BigInt(v)) : Int32Array.from(flat);
  return new ort.Tensor(role.type, data, [batch, seq]);
}

export function floatTensor(type: FloatType, data: Float32Array, dims: readonly number[]): ort.Tensor {
  return type === 'float16' ? new ort.Tensor('float16', float32ToFloat16(data), dims) : new ort.Tensor('float32', data, dims);
}

/** An output as float32 (a float16 output's Uint16Array bits converted; see ort.ts). */
export function readFloat(value: ort.OnnxValue | undefined, name: string, file: string): { data: Float32Array; dims: number[] } {
  if (value === undefined) throw new StudioError('internal', `${file} returned no '${name}'.`);
  const tensor = value as ort.Tensor;
  const dims = [...tensor.dims];
  if (tensor.type === 'float32') return { data: tensor.data as Float32Array, dims };
  if (tensor.type === 'float16') {
    const raw = tensor.data;
    return { data: raw instanceof Uint16Array ? float16ToFloat32(raw) : Float32Array.from(raw as ArrayLike<number>), dims };
  }
  throw new StudioError('internal', `${file} returned '${name}' as ${tensor.type}, expected float32 or float16.`);
}

export function sessionIo(session: ort.InferenceSession): ComponentIo {
  const meta = (m: ort.InferenceSession.ValueMetadata): TensorMeta =>
    m.isTensor ? { name: m.name, type: m.type, dims: [...m.shape] } : { name: m.name, type: 'non-tensor', dims: [] };
  return { inputs: session.inputMetadata.map(meta), outputs: session.outputMetadata.map(meta) };
}
