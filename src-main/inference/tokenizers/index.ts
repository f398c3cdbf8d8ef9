// The three SD3 tokenizers of a model folder: CLIP-L (tokenizer/), CLIP-G (tokenizer_2/), T5 (tokenizer_3/).
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../../src-shared/errors';
import { ClipTokenizer } from './clip';
import { T5_MAX_LENGTH, T5Tokenizer } from './t5';

export { ClipTokenizer, cleanClipText, htmlUnescape, CLIP_MAX_LENGTH } from './clip';
export { T5Tokenizer, T5_MAX_LENGTH } from './t5';

export interface PromptTokens {
  /** 77 ids for CLIP-L (padded with its pad token, 49407). */
  clipL: number[];
  /** 77 ids for CLIP-G (padded with its pad token, 0). */
  clipG: number[];
  /** 256 ids for T5, or undefined when T5 is off. */
  t5: number[] | undefined;
  /** Tokens cut by truncation: CLIP (BPE ids beyond 75) and T5 (content ids beyond 255). */
  dropped: { clip: number; t5: number };
}

export class PromptTokenizers {
  private constructor(
    readonly clipL: ClipTokenizer,
    readonly clipG: ClipTokenizer,
    readonly t5: T5Tokenizer | undefined,
  ) {}

  /**
   * Load tokenizer/ and tokenizer_2/ (required) and tokenizer_3/ (skipped when options.t5 === false or the folder
   * is absent) from a model folder. A missing folder or file is a not_found error naming it.
   */
  static async load(modelFolder: string, options?: { t5?: boolean }): Promise<PromptTokenizers> {
    const folder = (name: string): string => {
      const dir = path.join(modelFolder, name);
      if (!fs.existsSync(dir)) {
        throw new StudioError('not_found', `The model folder ${modelFolder} has no ${name}/ folder (needed for the prompt tokenizer). Re-download or re-import the model.`, { folder: dir });
      }
      return dir;
    };
    // Both folders are checked before either load starts, so a missing one never leaves the other's load running.
    const clipLDir = folder('tokenizer');
    const clipGDir = folder('tokenizer_2');
    const [clipL, clipG] = await Promise.all([ClipTokenizer.load(clipLDir), ClipTokenizer.load(clipGDir)]);
    const t5Dir = path.join(modelFolder, 'tokenizer_3');
    const t5 = options?.t5 === false || !fs.existsSync(t5Dir) ? undefined : await T5Tokenizer.load(t5Dir);
    return new PromptTokenizers(clipL, clipG, t5);
  }

  /** The ids fed to the three encoders for one prompt, and how many tokens truncation dropped. */
  encode(prompt: string): PromptTokens {
    const l = this.clipL.encode(prompt);
    const g = this.clipG.encode(prompt);
    const t = this.t5?.encode(prompt, T5_MAX_LENGTH);
    return {
      clipL: l.ids,
      clipG: g.ids,
      t5: t?.ids,
      dropped: { clip: Math.max(l.dropped, g.dropped), t5: t?.dropped ?? 0 },
    };
  }
}
