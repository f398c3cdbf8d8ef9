import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isStudioError } from '../../src-shared/errors';
import { eulerStep, flowMatchSigmas, readSchedulerShift } from './scheduler';

// Reference values below come from a numpy transcription of diffusers' FlowMatchEulerDiscreteScheduler
// (__init__ in float32, set_timesteps in float64, cast to float32), printed as float32 values (kept as text: they
// are the shortest decimal forms of doubles, which a numeric literal lint rule would misread as lossy).
const floats = (text: string): number[] => text.trim().split(/\s+/).map(Number);
const SHIFT3_N28_TIMESTEPS = floats(
  '1000.0 987.380615234375 974.1077270507812 960.1293334960938 945.3875122070312 929.8179321289062 ' +
  '913.3489990234375 895.9003295898438 877.3818969726562 857.6923217773438 836.7166748046875 ' +
  '814.3247680664062 790.3682861328125 764.6771240234375 737.0558471679688 707.2785034179688 ' +
  '675.0823364257812 640.1602172851562 602.1505737304688 560.625 515.0720825195312 464.87603759765625 ' +
  '409.288818359375 347.39263916015625 278.0487976074219 199.8269805908203 110.90573120117188 ' +
  '8.928571701049805 ',
);
const SHIFT3_N40_TIMESTEPS = floats(
  '1000.0 991.3308715820312 982.3557739257812 973.0582275390625 963.4207153320312 953.4239501953125 ' +
  '943.0477294921875 932.2698974609375 921.066650390625 909.412353515625 897.2792358398438 ' +
  '884.63720703125 871.4534301757812 857.6923217773438 843.315185546875 828.2796630859375 ' +
  '812.53955078125 796.0441284179688 778.737548828125 760.55859375 741.4395751953125 721.3056030273438 ' +
  '700.07373046875 677.6515502929688 653.9360961914062 628.8121948242188 602.1505737304688 ' +
  '573.8054809570312 543.6123657226562 511.3843078613281 476.9085693359375 439.94140625 400.20263671875 ' +
  '357.368408203125 311.06243896484375 260.8447265625 206.19786071777344 146.50872802734375 ' +
  '81.0457534790039 8.928571701049805 ',
);
const SHIFT1_N40_SIGMAS = [
  1.0, 0.974384605884552, 0.948769211769104, 0.923153817653656, 0.8975384831428528, 0.8719230890274048, 0.8463076949119568,
  0.8206923007965088, 0.7950769066810608, 0.7694615125656128, 0.7438461780548096, 0.7182307839393616, 0.6926153898239136,
  0.6669999957084656, 0.6413846015930176, 0.6157692074775696, 0.5901538729667664, 0.5645384788513184, 0.5389230847358704,
  0.5133076906204224, 0.48769229650497437, 0.46207693219184875, 0.43646153807640076, 0.41084614396095276,
  0.38523077964782715, 0.35961538553237915, 0.33399999141693115, 0.30838462710380554, 0.28276923298835754,
  0.25715383887290955, 0.23153845965862274, 0.20592308044433594, 0.18030768632888794, 0.15469230711460114,
  0.12907692790031433, 0.10346154123544693, 0.07784615457057953, 0.05223076790571213, 0.026615384966135025,
  0.0010000000474974513, 0.0,
];

describe('flowMatchSigmas', () => {
  it('gives the issue example for shift 3, N = 4', () => {
    const { sigmas, timesteps } = flowMatchSigmas(4, 3);
    expect(sigmas).toHaveLength(5);
    expect(timesteps).toHaveLength(4);
    [1.0, 0.857692, 0.602151, 0.008929, 0].forEach((v, i) => expect(sigmas[i]).toBeCloseTo(v, 6));
    [1000, 857.692, 602.151, 8.929].forEach((v, i) => expect(timesteps[i]).toBeCloseTo(v, 3));
    // exact float32 values
    expect(sigmas).toEqual([1.0, 0.857692301273346, 0.602150559425354, 0.008928571827709675, 0]);
    expect(timesteps).toEqual([1000.0, 857.6923217773438, 602.1505737304688, 8.928571701049805]);
  });

  it('is exact (to the float32 bit) for shift 3 with 28 and 40 steps', () => {
    expect(flowMatchSigmas(28, 3).timesteps).toEqual(SHIFT3_N28_TIMESTEPS);
    expect(flowMatchSigmas(40, 3).timesteps).toEqual(SHIFT3_N40_TIMESTEPS);
  });

  it('is a plain linear schedule from 1 to 0.001 for shift 1 (N = 40, 28, 4)', () => {
    expect(flowMatchSigmas(40, 1).sigmas).toEqual(SHIFT1_N40_SIGMAS);
    const { sigmas, timesteps } = flowMatchSigmas(4, 1);
    expect(sigmas).toEqual([1.0, 0.6669999957084656, 0.33399999141693115, 0.0010000000474974513, 0]);
    expect(timesteps).toEqual([1000, 667, 334, 1]);
    const n28 = flowMatchSigmas(28, 1);
    expect(n28.sigmas).toHaveLength(29);
    expect(n28.timesteps[1]).toBe(963);
    expect(n28.timesteps[27]).toBe(1);
  });

  it('handles N = 1 and N = 2 as numpy.linspace does', () => {
    expect(flowMatchSigmas(1, 3)).toEqual({ sigmas: [1, 0], timesteps: [1000] });
    expect(flowMatchSigmas(1, 1)).toEqual({ sigmas: [1, 0], timesteps: [1000] });
    expect(flowMatchSigmas(2, 3)).toEqual({ sigmas: [1, 0.008928571827709675, 0], timesteps: [1000, 8.928571701049805] });
    expect(flowMatchSigmas(2, 1)).toEqual({ sigmas: [1, 0.0010000000474974513, 0], timesteps: [1000, 1] });
  });

  it('returns float32 values, strictly decreasing, timesteps = σ·1000', () => {
    for (const shift of [1, 2.5, 3, 6]) {
      for (const n of [1, 2, 4, 28, 40, 150]) {
        const { sigmas, timesteps } = flowMatchSigmas(n, shift);
        expect(sigmas).toHaveLength(n + 1);
        expect(sigmas[n]).toBe(0);
        for (let i = 0; i < n; i++) {
          expect(Math.fround(sigmas[i]!)).toBe(sigmas[i]);
          expect(sigmas[i]!).toBeGreaterThan(sigmas[i + 1]!);
          expect(timesteps[i]).toBe(Math.fround(sigmas[i]! * 1000));
        }
      }
    }
  });

  it('refuses bad steps and shifts', () => {
    for (const [n, s] of [
      [0, 3],
      [1.5, 3],
      [4, 0],
      [4, -1],
      [4, Number.NaN],
    ] as const) {
      let caught: unknown;
      try {
        flowMatchSigmas(n, s);
      } catch (err) {
        caught = err;
      }
      expect(isStudioError(caught, 'invalid_input'), `steps ${n} shift ${s}`).toBe(true);
    }
  });
});

describe('eulerStep', () => {
  it('computes x + (σnext − σ)·v in float32 in place', () => {
    const x = new Float32Array([1, -2, 0.5]);
    const v = new Float32Array([0.25, 4, -1]);
    eulerStep(x, v, 0.857692301273346, 0.602150559425354);
    const dt = Math.fround(0.602150559425354 - 0.857692301273346);
    expect(Array.from(x)).toEqual([Math.fround(1 + Math.fround(dt * 0.25)), Math.fround(-2 + Math.fround(dt * 4)), Math.fround(0.5 - dt)]);
  });

  it('integrates a constant velocity exactly: x_N = x_0 − v (σ goes from 1 to 0)', () => {
    const x = new Float32Array([0.5, -1.25, 3]);
    const v = new Float32Array([0.5, 0.25, -2]);
    const { sigmas } = flowMatchSigmas(4, 1);
    for (let i = 0; i < 4; i++) eulerStep(x, v, sigmas[i]!, sigmas[i + 1]!);
    expect(x[0]).toBeCloseTo(0, 6);
    expect(x[1]).toBeCloseTo(-1.5, 6);
    expect(x[2]).toBeCloseTo(5, 6);
  });

  it('follows the closed form of the Euler recurrence for v = a·x + b over a whole schedule', () => {
    for (const [steps, shift, a, b] of [
      [28, 3, 0.7, -0.3],
      [40, 3, -1.1, 0.5],
      [4, 3, 0.2, 1.5],
      [28, 1, 1.0, 0.0],
    ] as const) {
      const { sigmas } = flowMatchSigmas(steps, shift);
      const x0 = [0.3, -1.7, 2.2, 0];
      const x = new Float32Array(x0);
      for (let i = 0; i < steps; i++) {
        const v = new Float32Array(x.length);
        for (let j = 0; j < x.length; j++) v[j] = a * x[j]! + b;
        eulerStep(x, v, sigmas[i]!, sigmas[i + 1]!);
      }
      // x_{k+1} = (1 + a·dt_k)·x_k + b·dt_k  ⇒  x_N = P_0·x_0 + Σ_k b·dt_k·P_{k+1},  P_k = Π_{j≥k} (1 + a·dt_j)
      const dts = sigmas.slice(0, steps).map((s, k) => sigmas[k + 1]! - s);
      const tailProduct = (k: number): number => dts.slice(k).reduce((p, dt) => p * (1 + a * dt), 1);
      const forced = dts.reduce((acc, dt, k) => acc + b * dt * tailProduct(k + 1), 0);
      x0.forEach((v0, j) => {
        const expected = tailProduct(0) * v0 + forced;
        expect(Math.abs(x[j]! - expected), `steps ${steps} a ${a} b ${b} element ${j}`).toBeLessThan(2e-5 * Math.max(1, Math.abs(expected)));
      });
    }
  });

  it('refuses mismatched lengths', () => {
    expect(() => eulerStep(new Float32Array(2), new Float32Array(3), 1, 0)).toThrow(/velocity/);
  });
});

describe('readSchedulerShift', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-sched-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  function folderWith(name: string, content: string | undefined): string {
    const folder = path.join(root, name);
    fs.mkdirSync(path.join(folder, 'scheduler'), { recursive: true });
    if (content !== undefined) fs.writeFileSync(path.join(folder, 'scheduler', 'scheduler_config.json'), content);
    return folder;
  }

  it('reads shift, defaulting to 3.0 when the file or key is missing', async () => {
    expect(await readSchedulerShift(folderWith('sd35', '{"_class_name": "FlowMatchEulerDiscreteScheduler", "num_train_timesteps": 1000, "shift": 3.0}'))).toBe(3);
    expect(await readSchedulerShift(folderWith('other', '{"shift": 2.5}'))).toBe(2.5);
    expect(await readSchedulerShift(folderWith('nokey', '{"num_train_timesteps": 1000}'))).toBe(3);
    expect(await readSchedulerShift(folderWith('nofile', undefined))).toBe(3);
    expect(await readSchedulerShift(path.join(root, 'does-not-exist'))).toBe(3);
  });

  it('refuses a broken file with invalid_input naming it', async () => {
    for (const [name, content] of [
      ['badjson', '{"shift": '],
      ['badshift', '{"shift": -1}'],
      ['strshift', '{"shift": "3"}'],
      ['array', '[1]'],
    ] as const) {
      const folder = folderWith(name, content);
      const err = await readSchedulerShift(folder).catch((e: unknown) => e);
      expect(isStudioError(err, 'invalid_input'), name).toBe(true);
      expect((err as Error).message).toContain(path.join(folder, 'scheduler', 'scheduler_config.json'));
    }
  });

  it('refuses a config nested 100,000 deep with invalid_input (issue 18 §4), and reads one nested 64 deep', async () => {
    const deep = folderWith('deep', `{"shift": 3.0, "x": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    const err = await readSchedulerShift(deep).catch((e: unknown) => e);
    expect(isStudioError(err, 'invalid_input')).toBe(true);
    expect((err as Error).message).toContain('nests deeper than 64 levels');
    // Brackets inside strings are not nesting.
    const fine = folderWith('fine', `{"shift": 2.0, "x": ${'['.repeat(63)}"${'['.repeat(1000)}"${']'.repeat(63)}}`);
    expect(await readSchedulerShift(fine)).toBe(2);
  });
});
