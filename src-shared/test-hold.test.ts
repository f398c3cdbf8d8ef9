import { describe, expect, it } from 'vitest';
import { testHold, testHoldCount } from './test-hold';

const on = (hold: string) => ({ SD35_TEST_MODE: '1', SD35_TEST_HOLD: hold });

describe('the test hold-point parser', () => {
  it('reads name and argument, only in test mode', () => {
    expect(testHold(on('model-load'))).toEqual({ name: 'model-load', arg: undefined, label: 'model-load' });
    expect(testHold(on('op-probe-hang:GroupNorm'))).toEqual({ name: 'op-probe-hang', arg: 'GroupNorm', label: 'op-probe-hang:GroupNorm' });
    expect(testHold({ SD35_TEST_HOLD: 'model-load' })).toBeUndefined();
    expect(testHold({ SD35_TEST_MODE: '0', SD35_TEST_HOLD: 'model-load' })).toBeUndefined();
    expect(testHold(undefined)).toBeUndefined();
    expect(testHold(on(''))).toBeUndefined();
    expect(testHold(on('Model Load'))).toBeUndefined();
  });

  it('counts belong to their own hold point and are whole numbers', () => {
    expect(testHoldCount(on('after-step:2'), 'after-step')).toBe(2);
    expect(testHoldCount(on('save-after-rename:3'), 'save-after')).toBeUndefined();
    expect(testHoldCount(on('save-after-rename:3'), 'save-after-rename')).toBe(3);
    expect(testHoldCount(on('download-after-bytes:1048576'), 'download-after-bytes')).toBe(1_048_576);
    expect(testHoldCount(on('after-step:x'), 'after-step')).toBeUndefined();
    expect(testHoldCount(on('after-step:-1'), 'after-step')).toBeUndefined();
    expect(testHoldCount(on('after-step'), 'after-step')).toBeUndefined();
    expect(testHoldCount({ SD35_TEST_HOLD: 'after-step:2' }, 'after-step')).toBeUndefined();
  });
});
