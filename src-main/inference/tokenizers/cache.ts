// THE prompt-tokenizer cache: tokenizers by model folder and T5 choice (loading T5's tokenizer.json takes most of
// a second), at most four kept, a failed load not kept (a repaired folder works next time). The worker's pipeline
// and the main process's models.countTokens each hold one instance of this class; there is no other cache.
import { PromptTokenizers } from './index';

export type TokenizerLoader = (folder: string, options: { t5: boolean }) => Promise<PromptTokenizers>;

export class TokenizerCache {
  private readonly entries = new Map<string, Promise<PromptTokenizers>>();

  constructor(
    private readonly load: TokenizerLoader = (folder, options) => PromptTokenizers.load(folder, options),
    private readonly capacity = 4,
  ) {}

  get(folder: string, t5: boolean): Promise<PromptTokenizers> {
    const key = `${t5 ? 't5' : 'clip'}:${folder}`;
    let loading = this.entries.get(key);
    if (!loading) {
      loading = this.load(folder, { t5 });
      const mine = loading;
      mine.catch(() => {
        if (this.entries.get(key) === mine) this.entries.delete(key);
      });
      this.entries.set(key, loading);
      while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    }
    return loading;
  }
}
