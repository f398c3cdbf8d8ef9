import { describe, expect, it } from 'vitest';
import { completeLoraTag, loraTagAtCaret, promptLoraTags, stripLoraTags } from './lora-prompt';

describe('<lora:…> tags in a prompt', () => {
  it('reads name and strength as A1111 does (second argument, default 1; a third is the UNet multiplier)', () => {
    const p = 'a cat <lora:ink wash:0.8>, <LORA:Other>  <lora:x:0.5:0.2> <lora:bad:abc> <hypernet:h:1> <lora:e:>';
    expect(promptLoraTags(p).map((t) => [t.name, t.strength])).toEqual([
      ['ink wash', 0.8],
      ['Other', 1],
      ['x', 0.5],
      ['bad', null],
      ['e', 1],
    ]);
    const first = promptLoraTags(p)[0]!;
    expect(p.slice(first.start, first.end)).toBe('<lora:ink wash:0.8>');
  });

  it('removes every lora tag from the text the encoders see, keeping other text (and other networks) as typed', () => {
    expect(stripLoraTags('a cat <lora:ink:0.8>, on a mat <lora:b>')).toBe('a cat , on a mat');
    expect(stripLoraTags('<hypernet:h:1> a cat')).toBe('<hypernet:h:1> a cat');
    expect(stripLoraTags('  no tags here ')).toBe('  no tags here ');
  });

  it('finds the unfinished tag at the caret and completes it', () => {
    const p = 'a cat <lora:in';
    expect(loraTagAtCaret(p, p.length)).toEqual({ nameStart: 12, query: 'in' });
    expect(loraTagAtCaret('a cat <lora:ink:0.', 18)).toBeUndefined();
    expect(loraTagAtCaret('a cat <lora:ink> x', 18)).toBeUndefined();
    expect(loraTagAtCaret('a cat', 5)).toBeUndefined();
    expect(completeLoraTag(p, p.length, 'ink wash')).toEqual({ text: 'a cat <lora:ink wash:1>', caret: 23 });
    // Already closed after the caret: only the name is replaced.
    expect(completeLoraTag('a <lora:i:0.5> b', 9, 'ink wash')).toEqual({ text: 'a <lora:ink wash:0.5> b', caret: 16 });
  });
});
