// T5 tokenizer (tokenizer_3/: SentencePiece Unigram in tokenizer.json) through @huggingface/tokenizers, shaped as
// diffusers feeds SD3's T5 encoder: ids + EOS (</s> = 1), truncated to max_length keeping the EOS, padded with
// <pad> (0) to exactly max_length.
import fs from 'node:fs/promises';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { parseBoundedJson } from '../../../src-shared/bounded-json';
import { StudioError } from '../../../src-shared/errors';

export const T5_MAX_LENGTH = 256;

export class T5Tokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    readonly eosId: number,
    readonly padId: number,
  ) {}

  /** Load tokenizer.json (required) and tokenizer_config.json (optional) from `folder`. */
  static async load(folder: string): Promise<T5Tokenizer> {
    const json = await readJson(folder, 'tokenizer.json', true);
    const config = (await readJson(folder, 'tokenizer_config.json', false)) ?? {};
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(json, config);
    } catch (err) {
      throw new StudioError('invalid_input', `${path.join(folder, 'tokenizer.json')} could not be loaded as a tokenizer (${(err as Error).message}). Re-download the model's tokenizer_3 folder.`, { folder, file: 'tokenizer.json' });
    }
    const tokenOf = (key: string, fallback: string): string => {
      const v = config[key];
      if (typeof v === 'string') return v;
      if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
      return fallback;
    };
    const eosToken = tokenOf('eos_token', '</s>');
    const padToken = tokenOf('pad_token', '<pad>');
    const eosId = tokenizer.token_to_id(eosToken);
    const padId = tokenizer.token_to_id(padToken);
    if (eosId === undefined || padId === undefined) {
      throw new StudioError('invalid_input', `${path.join(folder, 'tokenizer.json')} has no id for ${eosId === undefined ? eosToken : padToken}. Re-download the model's tokenizer_3 folder.`, { folder, file: 'tokenizer.json' });
    }
    return new T5Tokenizer(tokenizer, eosId, padId);
  }

  /** Token ids with the EOS, untruncated and unpadded. */
  rawIds(text: string): number[] {
    const ids = this.tokenizer.encode(text).ids;
    if (ids[ids.length - 1] !== this.eosId) ids.push(this.eosId); // tokenizer.json without a post-processor
    return ids;
  }

  /** Exactly `maxLength` ids: content, EOS, padding; `dropped` counts the content ids cut off to keep the EOS. */
  encode(text: string, maxLength: number = T5_MAX_LENGTH): { ids: number[]; dropped: number } {
    if (!Number.isInteger(maxLength) || maxLength < 1) {
      throw new StudioError('internal', `T5 max length must be a positive integer (got ${String(maxLength)}).`);
    }
    const raw = this.rawIds(text);
    const content = raw.slice(0, -1);
    const kept = content.slice(0, maxLength - 1);
    const ids = [...kept, this.eosId];
    while (ids.length < maxLength) ids.push(this.padId);
    return { ids, dropped: content.length - kept.length };
  }
}

async function readJson(folder: string, file: string, required: true): Promise<Record<string, unknown>>;
async function readJson(folder: string, file: string, required: false): Promise<Record<string, unknown> | undefined>;
async function readJson(folder: string, file: string, required: boolean): Promise<Record<string, unknown> | undefined> {
  const full = path.join(folder, file);
  let text: string;
  try {
    text = await fs.readFile(full, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      if (!required) return undefined;
      throw new StudioError('not_found', `The tokenizer file ${file} is missing from ${folder}. Re-download the model or check the folder.`, { folder, file });
    }
    throw new StudioError('internal', `Could not read ${full}: ${(err as Error).message}`, { folder, file });
  }
  let value: unknown;
  try {
    value = parseBoundedJson(text);
  } catch {
    throw new StudioError('invalid_input', `${full} is not valid JSON. Re-download the model's tokenizer files.`, { folder, file });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StudioError('invalid_input', `${full} does not hold a JSON object. Re-download the model's tokenizer files.`, { folder, file });
  }
  return value as Record<string, unknown>;
}
