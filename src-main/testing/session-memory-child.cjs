// Test child (allocator-env.int.test.ts): creates an ONNX Runtime session from the graph named in argv[2]
// with the low-memory options (no CPU arena), releases it, and prints its anonymous resident memory
// (RssAnon, bytes) at start, after creation and after release, as one JSON line.
'use strict';
const fs = require('node:fs');
const ort = require('onnxruntime-node');

function rssAnon() {
  const m = /RssAnon:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return Number(m[1]) * 1024;
}

(async () => {
  const start = rssAnon();
  const session = await ort.InferenceSession.create(process.argv[2], {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: 1,
    enableCpuMemArena: false,
  });
  const created = rssAnon();
  const inputs = session.inputNames;
  await session.release();
  const released = rssAnon();
  process.stdout.write(JSON.stringify({ start, created, released, inputs }) + '\n');
})().catch((err) => {
  process.stderr.write(String((err && err.stack) || err));
  process.exit(1);
});
