// models.countTokens: how many tokens a prompt is for the chosen model's own tokenizers (CLIP keeps 75,
// T5 keeps 255), so the Generate form can say how many will be dropped. Tokenizers are loaded once per
// model folder and kept (a few MB each); a failed load is not kept, so a repaired folder works next time.
// With T5 off the T5 tokenizer is not loaded and there is no T5 count.
import type { ParamsOf, ResultOf } from '../../../src-shared/api';
import { CLIP_MAX_LENGTH, T5_MAX_LENGTH } from '../../inference/tokenizers/index';
import { TokenizerCache } from '../../inference/tokenizers/cache';

/** Content tokens each encoder keeps (CLIP: 77 minus BOS and EOS; T5: 256 minus EOS). */
export const TOKEN_LIMITS = { clip: CLIP_MAX_LENGTH - 2, t5: T5_MAX_LENGTH - 1 } as const;

export class TokenCounter {
  private readonly cache = new TokenizerCache();

  constructor(private readonly resolveFolder: (model: string) => Promise<string>) {}

  /** t5: false (T5 off in the form) counts CLIP only and does not load the T5 tokenizer. */
  async count({ model, texts, t5 }: ParamsOf<'models.countTokens'>): Promise<ResultOf<'models.countTokens'>> {
    const tk = await this.cache.get(await this.resolveFolder(model), t5 !== false);
    return {
      limits: { ...TOKEN_LIMITS },
      counts: texts.map((text) => {
        const clip = Math.max(tk.clipL.bpeIds(text).length, tk.clipG.bpeIds(text).length);
        const t5 = tk.t5 ? tk.t5.rawIds(text).length - 1 : null;
        return { clip, t5 };
      }),
    };
  }
}
