// The op-probe process (out/main/op-probe.js, issue 18 §2): started by op-probe-runner.ts through the
// WorkerSpawner in an empty temporary working directory; takes one batch of one-node probe graphs, answers each
// with ort-probe.ts's probeBytes (in order, one message per graph, so a hang or crash costs only the graph being
// probed) and exits. It reads no file but onnxruntime itself.
import { probeBytes } from './ort-probe';
import { probeRequestSchema, type ProbeRequest } from './op-probe-runner';

interface ParentPortLike {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
}

async function answer(request: ProbeRequest, send: (m: unknown) => void): Promise<void> {
  for (const [index, graph] of request.graphs.entries()) {
    const result = await probeBytes(graph, request.provider);
    send({ type: 'answer', index, result: result.detail !== undefined ? { ...result, detail: result.detail.slice(0, 2000) } : result });
  }
}

function main(): void {
  const parentPort = (process as unknown as { parentPort?: ParentPortLike }).parentPort;
  const send = (m: unknown): void => {
    if (parentPort) parentPort.postMessage(m);
    else if (process.connected) process.send?.(m);
  };
  const onRequest = (raw: unknown): void => {
    const parsed = probeRequestSchema.safeParse(raw);
    if (!parsed.success) process.exit(2);
    void answer(parsed.data, send).then(
      // Give the last message time to leave before the process ends.
      () => setTimeout(() => process.exit(0), 50),
      (err: unknown) => {
        process.stderr.write(`sd35-studio op probe: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(70);
      },
    );
  };
  if (parentPort) parentPort.on('message', (event) => onRequest(event.data));
  else process.once('message', onRequest);
  send({ type: 'ready' });
  // The parent went away: nobody is left to answer.
  if (!parentPort) process.on('disconnect', () => process.exit(0));
}

if ((process as unknown as { parentPort?: unknown }).parentPort || typeof process.send === 'function') main();
