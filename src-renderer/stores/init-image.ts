// The Generate form's image-to-image source: the init image (from the gallery by id, a dropped, pasted or chosen
// file), its fit mode and strength, and the inpainting mask (painted in the mask editor or from a file) with its
// blur. Files go to the server as bytes (inputs.put, checked there like an import) and are named by sha256 from then
// on; the generate store's submit asks `initForSubmit()` for the job's `init`. Kept across restarts (the sha256s, not
// the bytes: inputs.get reads them back). A Pinia setup store beside the generate store (the form stays one store's).
import { defineStore } from 'pinia';
import { computed, reactive, ref, watch } from 'vue';
import { StudioError } from '../../src-shared/errors';
import { sizeForImage } from '../../src-shared/generation';
import { FIT_MODES, IMG2IMG_LIMITS, initImageSchema, strengthStart, type FitMode, type InitImage } from '../../src-shared/img2img';
import { MAX_INPUT_UPLOAD_BYTES, type InputKind } from '../../src-shared/schemas/inputs';
import { formatBytes } from '../../src-shared/bytes';
import { studio } from '../studio';
import { attempt } from './attempt';

/** A kept input as the form shows it: its sha256, size and an object URL of its bytes. */
export interface KeptInput {
  sha256: string;
  width: number;
  height: number;
  format: 'png' | 'jpeg' | 'webp';
  /** blob: URL of the bytes (revoked when replaced). */
  url: string;
  /** The gallery image it came from. */
  imageId?: number;
}

export interface InitSettings {
  fit: FitMode;
  strength: number;
  maskBlur: number;
}

export const INIT_STORAGE_KEY = 'sd35studio.generate.init';
const ACCEPTED_TYPES = ['image/png', 'image/jpeg', 'image/webp'];

interface StoredInit extends InitSettings {
  source?: { sha256: string; imageId?: number };
  mask?: { sha256: string };
}

export function defaultInitSettings(): InitSettings {
  return { fit: 'resize', strength: IMG2IMG_LIMITS.defaultStrength, maskBlur: IMG2IMG_LIMITS.defaultMaskBlur };
}

/** Base64 of bytes, in chunks (String.fromCharCode of a whole image would overflow the call stack). */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** "20 of 28 steps": what the loop will run at this strength (the pipeline's own rule, src-shared/img2img.ts). */
export function stepsLabel(steps: number, strength: number): string {
  try {
    const { runSteps } = strengthStart(steps, strength);
    return `${runSteps} of ${steps} step${steps === 1 ? '' : 's'}`;
  } catch {
    return '';
  }
}

let storage: Pick<Storage, 'getItem' | 'setItem'> | undefined;
/** Tests give a Map-backed storage. */
export function setInitStorage(s: Pick<Storage, 'getItem' | 'setItem'> | undefined): void {
  storage = s;
}
function initStorage(): Pick<Storage, 'getItem' | 'setItem'> | undefined {
  if (storage) return storage;
  try {
    return typeof localStorage === 'undefined' ? undefined : localStorage;
  } catch {
    return undefined;
  }
}

function readStored(): StoredInit {
  const d = defaultInitSettings();
  try {
    const raw = JSON.parse(initStorage()?.getItem(INIT_STORAGE_KEY) ?? 'null') as Partial<StoredInit> | null;
    if (!raw || typeof raw !== 'object') return d;
    const out: StoredInit = { ...d };
    if ((FIT_MODES as readonly unknown[]).includes(raw.fit)) out.fit = raw.fit!;
    if (typeof raw.strength === 'number' && raw.strength > 0 && raw.strength <= 1) out.strength = raw.strength;
    if (Number.isInteger(raw.maskBlur) && raw.maskBlur! >= 0 && raw.maskBlur! <= IMG2IMG_LIMITS.maxMaskBlur) out.maskBlur = raw.maskBlur!;
    const sha = (v: unknown) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
    if (raw.source && sha(raw.source.sha256)) out.source = { sha256: raw.source.sha256, ...(Number.isSafeInteger(raw.source.imageId) ? { imageId: raw.source.imageId! } : {}) };
    if (raw.mask && sha(raw.mask.sha256)) out.mask = { sha256: raw.mask.sha256 };
    return out;
  } catch {
    return d;
  }
}

export const useInitImageStore = defineStore('initImage', () => {
  const stored = readStored();
  const settings = reactive<InitSettings>({ fit: stored.fit, strength: stored.strength, maskBlur: stored.maskBlur });
  const source = ref<KeptInput>();
  const mask = ref<KeptInput>();
  const busy = ref(false);
  /** The last refusal (a corrupt file, a bomb, a mask of another size…), as the server or the form said it. */
  const error = ref<string>();
  /** The mask editor is open (GenerateView shows it). */
  const editorOpen = ref(false);

  const inpaint = computed(() => mask.value !== undefined);

  watch(
    [settings, source, mask],
    () => {
      const s: StoredInit = {
        ...settings,
        ...(source.value ? { source: { sha256: source.value.sha256, ...(source.value.imageId ? { imageId: source.value.imageId } : {}) } } : {}),
        ...(mask.value ? { mask: { sha256: mask.value.sha256 } } : {}),
      };
      try {
        initStorage()?.setItem(INIT_STORAGE_KEY, JSON.stringify(s));
      } catch {
        // storage refused: the source is simply not kept across a restart
      }
    },
    { deep: true },
  );

  function keep(kind: InputKind, info: { sha256: string; width: number; height: number; format: KeptInput['format']; imageId?: number }, bytes: Uint8Array<ArrayBuffer>, type: string): KeptInput {
    const url = URL.createObjectURL(new Blob([bytes], { type }));
    const kept: KeptInput = { ...info, url };
    const target = kind === 'image' ? source : mask;
    if (target.value) URL.revokeObjectURL(target.value.url);
    target.value = kept;
    return kept;
  }

  function run<T>(work: () => Promise<T>): Promise<T | undefined> {
    return attempt(
      {
        busy: (on) => (busy.value = on),
        clear: () => (error.value = undefined),
        failed: (e) => (error.value = e.message),
      },
      work,
    );
  }

  /** Loads a kept input's bytes (inputs.get) into an object URL. */
  async function fetchKept(kind: InputKind, sha256: string, imageId?: number): Promise<KeptInput> {
    const r = await studio().call('inputs.get', { sha256 });
    return keep(kind, { sha256, width: r.width, height: r.height, format: r.format, ...(imageId ? { imageId } : {}) }, fromBase64(r.dataBase64), r.mimeType);
  }

  /** A new source sets the generation size to its own (rounded to 16, within the limits) and drops the old mask. */
  function sourceChanged(kept: KeptInput, onSize?: (size: { width: number; height: number }) => void): void {
    if (mask.value && (mask.value.width !== kept.width || mask.value.height !== kept.height)) clearMask();
    onSize?.(sizeForImage(kept.width, kept.height));
  }

  /** "Use as input" on a gallery image: the server keeps its own file (by id, never a path). */
  function fromGallery(imageId: number, onSize?: (size: { width: number; height: number }) => void): Promise<KeptInput | undefined> {
    return run(async () => {
      const info = await studio().call('inputs.put', { kind: 'image', imageId });
      clearMask();
      const kept = await fetchKept('image', info.sha256, imageId);
      sourceChanged(kept, onSize);
      return kept;
    });
  }

  async function fileBytes(file: Blob, what: string): Promise<Uint8Array<ArrayBuffer>> {
    if (file.type && !ACCEPTED_TYPES.includes(file.type)) {
      throw new StudioError('invalid_input', `${what} must be a PNG, JPEG or WebP image (this is ${file.type}).`);
    }
    if (file.size > MAX_INPUT_UPLOAD_BYTES) {
      throw new StudioError('invalid_input', `${what} is ${formatBytes(file.size)}; at most ${formatBytes(MAX_INPUT_UPLOAD_BYTES)} can be sent. Import it into the gallery and use it from there.`);
    }
    return new Uint8Array(await file.arrayBuffer());
  }

  /** A dropped, pasted or chosen file as the source (checked by the server as an import is). */
  function fromFile(file: Blob, onSize?: (size: { width: number; height: number }) => void): Promise<KeptInput | undefined> {
    return run(async () => {
      const bytes = await fileBytes(file, 'The image');
      const info = await studio().call('inputs.put', { kind: 'image', dataBase64: toBase64(bytes) });
      clearMask();
      const kept = keep('image', info, bytes, `image/${info.format}`);
      sourceChanged(kept, onSize);
      return kept;
    });
  }

  /** A mask from a file or the editor's PNG: white = repaint, black = keep; the source's size. */
  function setMask(file: Blob): Promise<KeptInput | undefined> {
    return run(async () => {
      if (!source.value) throw new StudioError('invalid_input', 'Choose an init image before a mask.');
      const bytes = await fileBytes(file, 'The mask');
      const info = await studio().call('inputs.put', { kind: 'mask', dataBase64: toBase64(bytes) });
      if (info.width !== source.value.width || info.height !== source.value.height) {
        throw new StudioError('invalid_input', `The mask is ${info.width}×${info.height} but the init image is ${source.value.width}×${source.value.height}; they must be the same size.`, { field: 'mask' });
      }
      return keep('mask', info, bytes, `image/${info.format}`);
    });
  }

  function clearMask(): void {
    if (mask.value) URL.revokeObjectURL(mask.value.url);
    mask.value = undefined;
  }

  function clear(): void {
    clearMask();
    if (source.value) URL.revokeObjectURL(source.value.url);
    source.value = undefined;
    error.value = undefined;
    editorOpen.value = false;
  }

  /** Reads the kept source and mask of the last session back (they may be gone: then the form starts without). */
  let restored = false;
  async function restore(): Promise<void> {
    if (restored) return;
    restored = true;
    if (!stored.source || source.value) return;
    try {
      await fetchKept('image', stored.source.sha256, stored.source.imageId);
      if (stored.mask) await fetchKept('mask', stored.mask.sha256);
    } catch {
      clear();
    }
  }

  /** Reuse / a job's init: the same source, mask, strength, fit and blur. */
  function useInit(init: InitImage): Promise<KeptInput | undefined> {
    return run(async () => {
      clearMask();
      const kept = await fetchKept('image', init.sha256, init.imageId);
      if (init.mask) await fetchKept('mask', init.mask.sha256);
      settings.fit = init.fit;
      settings.strength = init.strength;
      if (init.mask) settings.maskBlur = init.mask.blur;
      return kept;
    });
  }

  /** The job's `init` (or undefined without a source); a StudioError when a setting is out of range. */
  function initForSubmit(): InitImage | undefined {
    if (!source.value) return undefined;
    const candidate = {
      sha256: source.value.sha256,
      ...(source.value.imageId ? { imageId: source.value.imageId } : {}),
      strength: settings.strength,
      fit: settings.fit,
      ...(mask.value ? { mask: { sha256: mask.value.sha256, blur: settings.maskBlur } } : {}),
    };
    const r = initImageSchema.safeParse(candidate);
    if (!r.success) {
      const issue = r.error.issues[0];
      const field = String(issue?.path[0] ?? '');
      if (field === 'strength') throw new StudioError('invalid_input', `Strength must be above 0 and at most 1 (now ${settings.strength}).`, { field: 'strength' });
      if (field === 'mask') throw new StudioError('invalid_input', `Mask blur: a whole number from 0 to ${IMG2IMG_LIMITS.maxMaskBlur}.`, { field: 'mask' });
      throw new StudioError('invalid_input', `The init image settings are not valid: ${issue?.message ?? ''}`);
    }
    return r.data;
  }

  return { settings, source, mask, busy, error, editorOpen, inpaint, fromGallery, fromFile, setMask, clearMask, clear, restore, useInit, initForSubmit };
});
