// The CLI's parameter messages are THE schema's (src-shared/generation.ts), under the option's name (issue #15 §2).
import { describe, expect, it } from 'vitest';
import { PARAM_TEXT, seedMessage } from '../../../src-shared/generation';
import { GLOBAL_OPTIONS, parseArgs } from '../args';
import { generateCommand, jobFor, parseGenerateOptions } from './generate';

const MODEL = { folder: '/models/tiny', id: 'folder:tiny' };

/** The message `generate … extra` is refused with (parse, then the job's parameters), or 'accepted'. */
async function refusal(extra: string[]): Promise<string> {
  try {
    const prompt = extra.includes('--prompt') ? [] : ['--prompt', 'a cat'];
    const args = parseArgs(['generate', '--model', 'tiny', ...prompt, ...extra], [...GLOBAL_OPTIONS, ...generateCommand.options]);
    const opts = parseGenerateOptions(args);
    await jobFor(opts, MODEL, 'tiny');
    return 'accepted';
  } catch (err) {
    return (err as Error).message;
  }
}

describe('generate: parameter messages come from THE schema, named by option', () => {
  it('accepts the limits themselves', async () => {
    expect(await refusal(['--steps', '150', '--width', '2048', '--height', '2048', '--guidance', '0', '--seed', '18446744073709551615'])).toBe('accepted');
  });
  it('a blank prompt is refused as the form refuses it', async () => {
    expect(await refusal(['--prompt', '   '])).toBe(`--prompt: ${PARAM_TEXT.promptBlank}`);
  });
  it('a seed of 2^64, a 200 KB prompt, steps, guidance, size, count', async () => {
    expect(await refusal(['--seed', '18446744073709551616'])).toBe(`--seed: ${seedMessage('18446744073709551616')}`);
    const long = 'x'.repeat(200 * 1024);
    expect(await refusal(['--prompt', long])).toBe(`--prompt: ${PARAM_TEXT.promptLength('prompt', long)}`);
    expect(await refusal(['--negative', long])).toBe(`--negative: ${PARAM_TEXT.promptLength('negativePrompt', long)}`);
    expect(await refusal(['--steps', '0'])).toBe(`--steps: ${PARAM_TEXT.steps(0)}`);
    expect(await refusal(['--steps', '2.5'])).toBe(`--steps: ${PARAM_TEXT.steps(2.5)}`);
    expect(await refusal(['--guidance', '31'])).toBe(`--guidance: ${PARAM_TEXT.guidance(31)}`);
    expect(await refusal(['--width', '65'])).toBe(`--width: ${PARAM_TEXT.side('width', 65)}`);
    expect(await refusal(['--height', '-64'])).toBe(`--height: ${PARAM_TEXT.side('height', -64)}`);
    expect(await refusal(['--count', '65'])).toBe(`--count: ${PARAM_TEXT.images(65)}`);
    expect(await refusal(['--shift', '0'])).toMatch(/^--shift: The shift must be a number from 0\.01 to 100/);
  });
});
