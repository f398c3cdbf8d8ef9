// Capability probes: asked of ONNX Runtime with one-node graphs, cached per onnxruntime version and
// provider in memory and on disk; the op listing they start from reads model.onnx alone.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../e2e/support/tiny-model';
import { ATTR, GRAPH, MODEL, NODE, TENSOR, readOnnxGraph, readOnnxGraphBuffer } from '../model-folder/onnx-graph';
import { probeModel } from '../model-folder/probe-graph';
import { Message } from '../model-folder/protobuf';
import { listOps, opKey, opLabel } from '../model-folder/ops';
import { clearProbeMemory, ortVersion, probeOps } from './ort-probe';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-probe-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('ops of a graph', () => {
  it('lists every (domain, op, opset) with element types from model.onnx alone, never the external data', async () => {
    const dir = path.join(tmp, 'olive');
    await writeTinyModel(dir, { layout: 'tensorstack', io: 'fp16', size: 'micro', flavor: 'olive' });
    // The weights are gone: the listing must not need them.
    fs.rmSync(path.join(dir, 'unet', 'model.onnx.data'));
    const ops = listOps(readOnnxGraph(path.join(dir, 'unet', 'model.onnx'), { nodes: true }));
    const byLabel = new Map(ops.map((o) => [opLabel(o), o]));
    expect(byLabel.get('com.microsoft.NhwcConv(1)')?.inputTypes).toEqual(['float32', 'float32', 'float32']);
    expect(byLabel.get('com.microsoft.BiasSplitGelu(1)')?.outputTypes).toEqual(['float32']);
    // fp16 I/O: the Cast at the edge takes float16 in.
    expect(ops.filter((o) => o.opType === 'Cast').map((o) => o.inputTypes[0])).toEqual(expect.arrayContaining(['float16', 'float32']));
    expect(byLabel.get('ai.onnx.Conv(17)')).toBeUndefined();
    expect(ops.every((o) => o.opset > 0)).toBe(true);
    const keys = ops.map(opKey);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('probes', () => {
  it('answer from ONNX Runtime, and are cached per version and provider in memory and on disk', async () => {
    const dir = path.join(tmp, 'olive');
    const graph = readOnnxGraph(path.join(dir, 'unet', 'model.onnx'), { nodes: true });
    const ops = listOps(graph);
    clearProbeMemory();
    const cacheDir = path.join(tmp, 'cache');
    const first = await probeOps(ops, graph.opsets, 'cpu', { cacheDir });
    const unsupported = ops.filter((o) => first.get(opKey(o))?.supported === false).map(opLabel).sort();
    expect(unsupported).toEqual(['com.microsoft.BiasAdd(1)', 'com.microsoft.BiasSplitGelu(1)', 'com.microsoft.NhwcConv(1)']);
    expect(first.get(opKey(ops.find((o) => o.opType === 'NhwcConv')!))?.detail).toMatch(/NhwcConv/);
    const file = path.join(cacheDir, fs.readdirSync(cacheDir)[0]!);
    expect(path.basename(file)).toBe(`op-probes-v2-ort${ortVersion()}-cpu.json`);
    const onDisk = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, { supported: boolean }>;
    expect(Object.keys(onDisk)).toHaveLength(ops.length);
    // A fresh process (memory cleared) reads the disk cache: the answers come back without sessions.
    clearProbeMemory();
    // Keyed by the SHA-256 of the probe graph's bytes (attributes included).
    const matmul = ops.find((o) => o.opType === 'MatMul')!;
    const key = crypto.createHash('sha256').update(probeModel(matmul, graph.opsets)).digest('hex').slice(0, 32);
    expect(onDisk[key]).toEqual({ supported: true });
    onDisk[key] = { supported: false };
    fs.writeFileSync(file, JSON.stringify(onDisk));
    const again = await probeOps(ops, graph.opsets, 'cpu', { cacheDir });
    expect(again.get(opKey(ops.find((o) => o.opType === 'MatMul')!))?.supported).toBe(false);
    clearProbeMemory();
  });
});

describe('probe graphs never read a file (issue 18 §2)', () => {
  it('a Constant whose tensor lives in external data is probed without it; the probe is inconclusive and not cached', async () => {
    // model { ir 10, graph { node Constant(value = tensor{float [1], external 'secret.bin'}) → y; output y }, opset 17 }
    const tensor = new Message().varint(1, 1).varint(2, 1).varint(TENSOR.dataLocation, 1);
    for (const [k, v] of [['location', 'secret.bin'], ['offset', '0'], ['length', '4']]) tensor.bytes(TENSOR.externalData, new Message().string(1, k!).string(2, v!));
    const attr = new Message().string(ATTR.name, 'value').bytes(ATTR.t, tensor).varint(ATTR.type, 4);
    const node = new Message().string(NODE.output, 'y').string(NODE.name, '/Constant').string(NODE.opType, 'Constant').bytes(NODE.attribute, attr);
    const out = new Message().string(1, 'y').bytes(2, new Message().bytes(1, new Message().varint(1, 1)));
    const graph = new Message().bytes(GRAPH.node, node).string(GRAPH.name, 'g').bytes(GRAPH.output, out);
    const model = new Message().varint(MODEL.irVersion, 10).bytes(MODEL.graph, graph).bytes(MODEL.opsetImport, new Message().varint(2, 17)).finish();
    const parsed = readOnnxGraphBuffer(model, 'model.onnx', { nodes: true });
    const [op] = listOps(parsed);
    expect(op?.example.attributes[0]?.external).toBe(true);
    const probe = probeModel(op!, parsed.opsets);
    expect(probe.includes(Buffer.from('secret.bin'))).toBe(false);
    const cacheDir = path.join(tmp, 'constant-cache');
    clearProbeMemory();
    const answers = await probeOps([op!], parsed.opsets, 'cpu', { cacheDir });
    expect(answers.get(opKey(op!))).toMatchObject({ supported: true, inconclusive: true });
    expect(fs.existsSync(cacheDir)).toBe(false);
    clearProbeMemory();
  });
});
