// The provider check process (out/main/probe.js): started through the WorkerSpawner (a utility process in
// the app, child_process.fork under Node) so GPU libraries are only ever loaded outside the main process;
// runs providers.ts's probe with the real onnxruntime-node, reports one message and exits.
import { ort } from './ort';
import { probeModel, probeProviders } from './providers';
import { supportedBackends } from './ep-plan';

interface ParentPortLike {
  postMessage(message: unknown): void;
}

async function tryProvider(name: string): Promise<void> {
  const session = await ort.InferenceSession.create(probeModel(), { executionProviders: [name], graphOptimizationLevel: 'disabled' });
  try {
    const x = new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [1, 4]);
    const out = await session.run({ x });
    const y = Object.values(out)[0]?.data as Float32Array | undefined;
    if (!y || y[3] !== 8) throw new Error(`the ${name} provider computed a wrong result`);
  } finally {
    await session.release();
  }
}

async function main(): Promise<void> {
  const parentPort = (process as unknown as { parentPort?: ParentPortLike }).parentPort;
  const send = (m: unknown): void => {
    if (parentPort) parentPort.postMessage(m);
    else process.send?.(m);
  };
  const providers = await probeProviders(process.platform, supportedBackends(), tryProvider);
  send({ type: 'providers', providers });
  // Give the message time to leave before the process ends.
  setTimeout(() => process.exit(0), 50);
}

if ((process as unknown as { parentPort?: unknown }).parentPort || typeof process.send === 'function') {
  void main().catch((err: unknown) => {
    process.stderr.write(`sd35-studio provider check: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(70);
  });
}
