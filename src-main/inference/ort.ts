// onnxruntime-node, loaded once for every file that calls it. Node 24 and Electron 42 have a global
// Float16Array; onnxruntime-common then hands 'float16' tensors to the native binding as Float16Array
// views, which onnxruntime-node 1.30's binding reads as zero bytes ("not enough space: expected 512,
// got 0"). ORT picks the float16 array type once, at the first Tensor it constructs: build that first
// Tensor while Float16Array is hidden, so float16 tensors travel as Uint16Array (ORT's documented
// representation where Float16Array is absent) both ways, then put Float16Array back.
import * as ort from 'onnxruntime-node';

const float16 = Object.getOwnPropertyDescriptor(globalThis, 'Float16Array');
if (float16) {
  Reflect.deleteProperty(globalThis, 'Float16Array');
  try {
    new ort.Tensor('float32', new Float32Array(1), [1]);
  } finally {
    Object.defineProperty(globalThis, 'Float16Array', float16);
  }
}

export { ort };
