// LoadedModel: the one place a model's sessions are opened and run (as transformers.js keeps every ORT call in one
// backend file): execution-provider fallback over ep-plan.ts's plan, sessions from ort-session.ts (file paths,
// external data beside, never from buffers), tensor roles from the sessions' own metadata, fp16 I/O conversion
// (ort-values.ts), memory modes. pipeline.ts talks to ORT only through LoadedModel's methods; a super-resolution
// model has its own UpscalerSession (upscaler-session.ts).
import fs from 'node:fs';
import path from 'node:path';
import { ort } from './ort';
import { epLabel, planExecutionProviders, supportedBackends, type ExecutionPlan, type SupportedBackend } from './ep-plan';
import { StudioError } from '../../src-shared/errors';
import { ALL_COMPONENTS, COMPONENTS, componentLabel, openModelFolder, type ComponentFiles, type ComponentName, type Layout } from '../model-folder/layouts';
import { readOnnxGraphInfo } from '../model-folder/onnx-graph';
import {
  resolveRoles,
  type ClipRoles,
  type ComponentRoles,
  type T5Roles,
  type TransformerRoles,
  type VaeEncoderRoles,
  type VaeRoles,
} from './tensor-roles';
import type { RewrittenOp } from '../model-folder/portable';
import { derivedGraph, processGraphsRoot } from '../model-folder/derived-graphs';
import { readOnnxGraph } from '../model-folder/onnx-graph';
import { SLG_INPUT, SLG_PASS, slgSwitchModel } from '../model-folder/slg-switch';
import { meanEncoderGraph } from '../model-folder/vae-mean';
import { forgetGraphProbes, graphForProvider } from './portability';
import { isNoKernelError, type ProbeOptions } from './ort-probe';
import { webGpuFailure } from './webgpu';
import { createSession, ortSessionOptions, type GraphSource, type SessionOptions } from './ort-session';
import { floatTensor, idsTensor, readFloat, sessionIo } from './ort-values';
import { prepareLoraGraphs, type LoraBaseGraph, type LoraGraph, type LoraReport, type LoraUse } from '../lora/lora-graphs';
import type { LoraComponent } from '../lora/keys';

import type { ClipHidden, EpChoice, MemoryMode, Precision } from '../../src-shared/generation';
import { readSchedulerShift } from './scheduler';

export type { EpChoice, MemoryMode };

// Providers that failed to start in this process: not retried for every model load.
const failedProviders = new Map<string, string>();

function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s+/g, ' ').trim().slice(0, 500);
}

// ---------------------------------------------------------------------------------------------

export type Phase = 'encode' | 'denoise' | 'decode' | 'encodeImage';

const PHASE_COMPONENTS: Record<Phase, ComponentName[]> = {
  encode: ['text_encoder', 'text_encoder_2', 'text_encoder_3'],
  encodeImage: ['vae_encoder'],
  denoise: ['transformer'],
  decode: ['vae_decoder'],
};

interface OpenSession {
  session: ort.InferenceSession;
  roles: ComponentRoles;
  ep: string;
}

/** One recorded session.run (LoadedModel.trace), for the overhead benchmark. */
export interface RunTrace {
  component: ComponentName;
  feeds: Record<string, ort.Tensor>;
  fetches: string[];
  /** Duration of this session.run inside the pipeline. */
  ms: number;
}

/** The transformer's per-job inputs, converted once and reused by every step. */
export interface TransformerConditioning {
  readonly batch: number;
  readonly feeds: Readonly<Record<string, ort.Tensor>>;
}

export interface ClipOutput {
  hidden: Float32Array;
  hiddenDims: number[];
  pooled: Float32Array;
  pooledDims: number[];
  hiddenKind: ClipRoles['hiddenKind'];
}

/**
 * A model folder opened for generation: its files validated, the tensor roles resolved, sessions created
 * according to the memory mode. Kept between jobs by the worker so a second generation is warm.
 */
export class LoadedModel {
  /** When set (by a benchmark), every session.run's feeds are recorded here. */
  trace?: RunTrace[];
  private readonly open = new Map<ComponentName, OpenSession>();
  private readonly pending = new Map<ComponentName, Promise<OpenSession>>();
  private readonly lastEp = new Map<ComponentName, string>();
  private readonly rewritten = new Map<ComponentName, RewrittenOp[]>();
  private readonly graphChoices = new Map<string, GraphSource>();
  private providers: string[];
  private fallbackReason: string | undefined;
  private released = false;
  // LoRAs (lora/lora-graphs.ts): derived graphs per component, the set's identity, strengths fed to every run.
  private loraGraphs = new Map<ComponentName, LoraGraph>();
  private loraKey = '';
  private loraStrengths: number[] = [];
  /** What the current LoRAs applied (for the image's metadata and warnings). */
  loraReports: LoraReport[] = [];
  /** The VAE encoder's session runs the mean pass's graph (its output is the mean, not a sample). */
  private meanEncoder = false;
  /**
   * Skip-Layer Guidance (enableSkipLayers): once on, the transformer runs the switch graph of whatever graph it
   * would run (model.onnx, portable or LoRA'd), normal and skip-layer passes in the same session.
   */
  private skipLayerSwitch = false;
  /** Switch graphs made so far, by the path of the graph they were derived from. */
  private readonly switchGraphs = new Map<string, { source: GraphSource; blocks: number }>();

  private constructor(
    readonly folder: string,
    readonly layout: Layout,
    readonly hasT5: boolean,
    readonly options: SessionOptions,
    private readonly files: Partial<Record<ComponentName, ComponentFiles>>,
    private readonly plannedRoles: Map<ComponentName, ComponentRoles>,
    plan: ExecutionPlan,
    /** The folder's scheduler_config.json shift, read once at load (the model spec carries it; nothing re-reads it). */
    readonly shift: number,
  ) {
    this.providers = plan.providers;
    this.fallbackReason = plan.fallbackReason;
  }

  /**
   * Validates the folder, resolves every component's roles from its graph (no weights read), then creates
   * sessions: fast = all now, balanced = transformer and VAE now (text encoders per job), low = none yet.
   */
  static async load(
    folder: string,
    options: SessionOptions,
    env: { platform?: NodeJS.Platform; supported?: SupportedBackend[] } = {},
  ): Promise<LoadedModel> {
    const plan = planExecutionProviders(options.ep, env.platform ?? process.platform, env.supported ?? supportedBackends());
    // A provider that already failed to start in this process is not tried again.
    while (plan.providers.length > 1 && failedProviders.has(plan.providers[0] as string)) {
      plan.fallbackReason = failedProviders.get(plan.providers[0] as string);
      plan.providers = plan.providers.slice(1);
    }
    const info = await openModelFolder(folder);
    const roles = new Map<ComponentName, ComponentRoles>();
    for (const component of ALL_COMPONENTS) {
      const files = info.components[component];
      if (!files) continue;
      const io = await readOnnxGraphInfo(files.model);
      roles.set(component, resolveRoles(component, { folder: info.folder, file: files.file }, io));
    }
    const shift = await readSchedulerShift(info.folder);
    const model = new LoadedModel(info.folder, info.layout, info.hasT5, options, info.components, roles, plan, shift);
    const preload: ComponentName[] =
      options.memory === 'fast'
        ? COMPONENTS.filter((c) => info.components[c] !== undefined)
        : options.memory === 'balanced'
          ? ['transformer', 'vae_decoder']
          : [];
    try {
      for (const c of preload) await model.acquire(c);
    } catch (err) {
      await model.release();
      throw err;
    }
    return model;
  }

  /** The provider doing the work: the transformer's, else the one sessions are created with now. */
  get ep(): string {
    return this.lastEp.get('transformer') ?? this.lastEp.values().next().value ?? this.providers[0] ?? 'cpu';
  }

  /** Why a GPU provider was not used (shown to the user), if it was not. */
  get epFallbackReason(): string | undefined {
    return this.fallbackReason;
  }

  /** Element type of the transformer's latent input, from the roles resolved at load (no graph is read again). */
  get precision(): Precision {
    const t = this.plannedRoles.get('transformer') as TransformerRoles | undefined;
    return t?.sample.type === 'float16' ? 'fp16' : 'fp32';
  }

  /** 'penultimate' when both CLIPs give hidden_states.{N-1} (diffusers-exact), else 'last'. */
  get clipHidden(): ClipHidden {
    const l = this.plannedRoles.get('text_encoder') as ClipRoles | undefined;
    const g = this.plannedRoles.get('text_encoder_2') as ClipRoles | undefined;
    return l?.hiddenKind === 'penultimate' && g?.hiddenKind === 'penultimate' ? 'penultimate' : 'last';
  }

  /** Components with a live session right now (memory-mode tests). */
  residentComponents(): ComponentName[] {
    return ALL_COMPONENTS.filter((c) => this.open.has(c));
  }

  /** Absolute path of a component's model.onnx. */
  modelPath(component: ComponentName): string {
    const files = this.files[component];
    if (!files) throw new StudioError('not_found', `The model in ${this.folder} has no ${componentLabel(component)}.`);
    return files.model;
  }

  private fileOf(component: ComponentName): string {
    return this.files[component]?.file ?? `${component}/model.onnx`;
  }

  private async acquire(component: ComponentName): Promise<OpenSession> {
    if (this.released) throw new StudioError('internal', 'This model has been unloaded.');
    const existing = this.open.get(component);
    if (existing) return existing;
    let pending = this.pending.get(component);
    if (!pending) {
      pending = this.create(component).finally(() => this.pending.delete(component));
      this.pending.set(component, pending);
    }
    return pending;
  }

  private async create(component: ComponentName): Promise<OpenSession> {
    const file = this.fileOf(component);
    let reprobed = false;
    for (;;) {
      const provider = this.providers[0] ?? 'cpu';
      let session: ort.InferenceSession;
      const graph = await this.graphFor(component, provider);
      try {
        session = await createSession(graph, ortSessionOptions(this.options, provider));
      } catch (err) {
        const text = errorText(err);
        const files = this.files[component];
        if (!reprobed && files && isNoKernelError(text)) {
          // The probes said this provider had every op and ORT says it has not: the cached answers are wrong
          // (issue 18 §2). Drop them, ask ORT again, and decide the graph anew — once.
          reprobed = true;
          forgetGraphProbes(files, provider, this.probeOptions());
          this.graphChoices.delete(`${component}|${provider}`);
          continue;
        }
        if (this.providers.length > 1) {
          const next = this.providers[1] as string;
          this.fallbackReason = `${epLabel(provider)} could not be started (${text}); running on the ${epLabel(next)}.`;
          failedProviders.set(provider, this.fallbackReason);
          this.providers = this.providers.slice(1);
          continue;
        }
        if (provider !== 'cpu') {
          const noAdapter = provider === 'webgpu' ? webGpuFailure(text) : undefined;
          throw new StudioError(
            'unavailable',
            noAdapter
              ? `${noAdapter}. Choose "auto" or "cpu".`
              : `The ${epLabel(provider)} execution provider could not be started for ${file} (${text}). Choose "auto" or "cpu".`,
            { ep: provider, folder: this.folder, file },
          );
        }
        throw new StudioError(
          'invalid_input',
          `ONNX Runtime could not load ${file} of the model in ${this.folder}: ${text}. Re-download the model if its files are damaged.`,
          { folder: this.folder, file },
        );
      }
      let roles: ComponentRoles;
      try {
        roles = resolveRoles(component, { folder: this.folder, file }, sessionIo(session));
      } catch (err) {
        await session.release();
        throw err;
      }
      if (this.released) {
        await session.release();
        throw new StudioError('internal', 'This model has been unloaded.');
      }
      const opened: OpenSession = { session, roles, ep: provider };
      this.open.set(component, opened);
      this.lastEp.set(component, provider);
      return opened;
    }
  }

  /**
   * The graph a component's session is created from on a provider: model.onnx, or the portable derived
   * graph (derived-graphs.ts) when the provider lacks ops the portability pass rewrites (recorded in
   * rewrittenOps). Throws the precise StudioError when an op has no kernel and no rewrite.
   */
  private async graphFor(component: ComponentName, provider: string, base = false): Promise<GraphSource> {
    if (component === 'transformer' && this.skipLayerSwitch && !base) return (await this.switchGraphFor(provider)).source;
    const lora = this.loraGraphs.get(component);
    if (lora) return { path: lora.file, externalDataDir: lora.externalDataDir };
    const files = this.files[component];
    if (!files) return { path: this.modelPath(component) };
    // Once decided for a component and provider, the same graph is loaded again (low memory mode
    // creates sessions per job): no second probe or rewrite.
    const known = this.graphChoices.get(`${component}|${provider}`);
    if (known) return known;
    const others = supportedBackends()
      .filter((b) => b.installed !== false && b.name !== 'webgpu')
      .map((b) => b.name);
    const choice = await graphForProvider(this.folder, files, provider, {
      otherProviders: others,
      graphsRoot: this.options.graphsDir ?? processGraphsRoot(),
      ...this.probeOptions(),
    });
    if (choice.rewritten.length > 0) this.rewritten.set(component, choice.rewritten);
    else this.rewritten.delete(component);
    let source: GraphSource = { path: choice.path, ...(choice.externalDataDir !== undefined ? { externalDataDir: choice.externalDataDir } : {}) };
    const encoderRoles = component === 'vae_encoder' ? (this.plannedRoles.get('vae_encoder') as VaeEncoderRoles | undefined) : undefined;
    if (encoderRoles?.latentKind === 'sampled') {
      // An encoder that samples inside its graph: the VAE mean pass (model-folder/vae-mean.ts), a derived graph.
      // Ops a provider lacks are not rewritten in it yet: such an encoder runs where its ops do.
      if (choice.rewritten.length > 0) {
        throw new StudioError(
          'unavailable',
          `${files.file} samples inside its graph and needs ops the ${epLabel(provider)} lacks (${choice.rewritten.map((r) => r.op).join(', ')}); the studio cannot yet derive its mean encoder for this provider.`,
          { folder: this.folder, file: files.file },
        );
      }
      const mean = await meanEncoderGraph(this.options.graphsDir ?? processGraphsRoot(), this.folder, files);
      source = { path: mean.file, externalDataDir: mean.externalDataDir };
      this.meanEncoder = true;
    }
    this.graphChoices.set(`${component}|${provider}`, source);
    return source;
  }

  /**
   * The Skip-Layer-Guidance switch graph (model-folder/slg-switch.ts) of the transformer graph this provider
   * runs (the portable or LoRA'd graph when there is one, so the switch composes with both), in the studio's
   * derived-graphs folder; its number of joint blocks read from the switch input. StudioError unavailable
   * (with the reason) when the pass cannot find the blocks.
   */
  private async switchGraphFor(provider: string): Promise<{ source: GraphSource; blocks: number }> {
    const files = this.files.transformer;
    if (!files) throw new StudioError('unavailable', 'Skip-Layer Guidance is not available for this model: it has no transformer graph.');
    const base = await this.graphFor('transformer', provider, true);
    const known = this.switchGraphs.get(base.path);
    if (known) return known;
    const derivedBase = base.externalDataDir !== undefined;
    const derived = await derivedGraph({
      root: this.options.graphsDir ?? processGraphsRoot(),
      modelFolder: this.folder,
      component: files,
      pass: SLG_PASS,
      // A derived base (portable, LoRA) is named by the hash of what made it: its name identifies its bytes.
      key: { base: derivedBase ? path.basename(base.path) : 'model' },
      produce: async (source) => slgSwitchModel(derivedBase ? await fs.promises.readFile(base.path) : source, files.file).bytes,
    });
    const dims = readOnnxGraph(derived.file).inputs.find((i) => i.name === SLG_INPUT)?.dims;
    const blocks = Number(dims?.[0]);
    if (!Number.isInteger(blocks) || blocks < 1) throw new StudioError('internal', `The Skip-Layer Guidance graph ${derived.file} has no ${SLG_INPUT} input.`);
    const made = { source: { path: derived.file, externalDataDir: derived.externalDataDir }, blocks };
    this.switchGraphs.set(base.path, made);
    return made;
  }

  /**
   * Turns Skip-Layer Guidance on for this model: from now on the transformer session runs the switch graph
   * (every block on = the original graph's output, bit for bit), so normal and skip-layer passes share one
   * session. Returns the number of joint blocks; StudioError unavailable with the reason when the graph's blocks
   * cannot be found (SLG stays off then).
   */
  async enableSkipLayers(): Promise<number> {
    const provider = this.providers[0] ?? 'cpu';
    if (!this.skipLayerSwitch) {
      this.skipLayerSwitch = true;
      try {
        await this.switchGraphFor(provider);
      } catch (err) {
        this.skipLayerSwitch = false;
        throw err;
      }
      const open = this.open.get('transformer');
      if (open && !open.session.inputNames.includes(SLG_INPUT)) await this.releaseComponent('transformer');
    }
    return (await this.switchGraphFor(provider)).blocks;
  }

  private probeOptions(): ProbeOptions {
    return {
      ...(this.options.probeCacheDir !== undefined ? { cacheDir: this.options.probeCacheDir } : {}),
      ...(this.options.probeRunner !== undefined ? { runner: this.options.probeRunner } : {}),
    };
  }

  /** Ops rewritten by the portability pass for the sessions created so far, component by component. */
  get rewrittenOps(): { component: ComponentName; op: string; count: number }[] {
    return ALL_COMPONENTS.flatMap((c) => (this.rewritten.get(c) ?? []).map((r) => ({ component: c, ...r })));
  }

  private async run(
    component: ComponentName,
    opened: OpenSession,
    feeds: Record<string, ort.Tensor>,
    fetches: string[],
  ): Promise<ort.InferenceSession.ReturnType> {
    // A LoRA'd graph takes one strength per LoRA (lora_strength_<k>), fed to every run.
    for (const name of opened.session.inputNames) {
      const m = /^lora_strength_(\d+)$/u.exec(name);
      if (m) feeds = { ...feeds, [name]: new ort.Tensor('float32', Float32Array.from([this.loraStrengths[Number(m[1])] ?? 0]), [1]) };
    }
    const record: RunTrace | undefined = this.trace ? { component, feeds, fetches, ms: 0 } : undefined;
    if (record) this.trace?.push(record);
    try {
      const started = record ? performance.now() : 0;
      const out = await opened.session.run(feeds, fetches);
      if (record) record.ms = performance.now() - started;
      return out;
    } catch (err) {
      throw new StudioError('internal', `ONNX Runtime failed while running ${this.fileOf(component)}: ${errorText(err)}`, {
        folder: this.folder,
        file: this.fileOf(component),
      });
    }
  }

  /** CLIP-L (text_encoder) or CLIP-G (text_encoder_2): hidden [B,S,D] (penultimate or last) and pooled [B,D]. */
  async encodeClip(component: 'text_encoder' | 'text_encoder_2', ids: readonly (readonly number[])[]): Promise<ClipOutput> {
    const opened = await this.acquire(component);
    const roles = opened.roles as ClipRoles;
    const out = await this.run(component, opened, { [roles.ids.name]: idsTensor(roles.ids, ids) }, [
      roles.hidden.name,
      roles.pooled.name,
    ]);
    const file = this.fileOf(component);
    const hidden = readFloat(out[roles.hidden.name], roles.hidden.name, file);
    const pooled = readFloat(out[roles.pooled.name], roles.pooled.name, file);
    await this.doneWithTextEncoder(component);
    return { hidden: hidden.data, hiddenDims: hidden.dims, pooled: pooled.data, pooledDims: pooled.dims, hiddenKind: roles.hiddenKind };
  }

  /** T5 encoder: last_hidden_state [B,S,4096]. */
  async encodeT5(ids: readonly (readonly number[])[]): Promise<{ hidden: Float32Array; dims: number[] }> {
    const opened = await this.acquire('text_encoder_3');
    const roles = opened.roles as T5Roles;
    const out = await this.run('text_encoder_3', opened, { [roles.ids.name]: idsTensor(roles.ids, ids) }, [roles.hidden.name]);
    const hidden = readFloat(out[roles.hidden.name], roles.hidden.name, this.fileOf('text_encoder_3'));
    await this.doneWithTextEncoder('text_encoder_3');
    return { hidden: hidden.data, dims: hidden.dims };
  }

  /**
   * The low memory mode frees a text encoder as soon as its one run of the job is read, so the three are never
   * resident together: the encode phase peaks at the largest encoder (T5-XXL), not at their sum. Measured at full
   * size (npm run bench -- real-scale): T5 alone 18.91 GB, CLIP-G 2.79 GB, CLIP-L 0.43 GB held after creation — the
   * sum would have been ≈ 22.1 GB on a 24 GB machine. The other modes keep them until endPhase('encode').
   */
  private async doneWithTextEncoder(component: 'text_encoder' | 'text_encoder_2' | 'text_encoder_3'): Promise<void> {
    if (this.options.memory === 'low') await this.releaseComponent(component);
  }

  /** Converts the text context [B,seq,4096] and pooled [B,2048] once for every step of a job. */
  async transformerConditioning(
    context: Float32Array,
    contextDims: readonly number[],
    pooled: Float32Array,
    pooledDims: readonly number[],
  ): Promise<TransformerConditioning> {
    const roles = (await this.acquire('transformer')).roles as TransformerRoles;
    return {
      batch: contextDims[0] ?? 1,
      feeds: {
        [roles.context.name]: floatTensor(roles.context.type, context, contextDims),
        [roles.pooled.name]: floatTensor(roles.pooled.type, pooled, pooledDims),
      },
    };
  }

  /**
   * One transformer call: latents [B,16,h,w] and timesteps [B] → velocity [B,16,h,w] (float32). `skipLayers`:
   * the joint blocks to bypass (Skip-Layer Guidance's pass; needs enableSkipLayers() first).
   */
  async runTransformer(
    conditioning: TransformerConditioning,
    sample: Float32Array,
    sampleDims: readonly number[],
    timestep: Float32Array,
    skipLayers?: readonly number[],
  ): Promise<Float32Array> {
    const opened = await this.acquire('transformer');
    const roles = opened.roles as TransformerRoles;
    const feeds: Record<string, ort.Tensor> = {
      ...conditioning.feeds,
      [roles.sample.name]: floatTensor(roles.sample.type, sample, sampleDims),
      [roles.timestep.name]: floatTensor(roles.timestep.type, timestep, [timestep.length]),
    };
    const switchMeta = opened.session.inputMetadata.find((m) => m.name === SLG_INPUT);
    if (switchMeta?.isTensor) {
      // The switch graph: every block on for a normal pass, the listed ones bypassed for a skip-layer pass.
      const flags = new Uint8Array(Number(switchMeta.shape[0]));
      for (const b of skipLayers ?? []) {
        if (!(Number.isInteger(b) && b >= 0 && b < flags.length)) throw new StudioError('internal', `Block ${b} is not one of the transformer's ${flags.length} joint blocks.`);
        flags[b] = 1;
      }
      feeds[SLG_INPUT] = new ort.Tensor('bool', flags, [flags.length]);
    } else if (skipLayers?.length) {
      throw new StudioError('internal', 'A skip-layer pass was asked of a transformer session without the switch graph.');
    }
    const out = await this.run('transformer', opened, feeds, [roles.output.name]);
    return readFloat(out[roles.output.name], roles.output.name, this.fileOf('transformer')).data;
  }

  /** VAE decoder: latents [1,16,h,w] (already scaled and shifted) → image [1,3,8h,8w] in about [-1, 1]. */
  async decodeLatents(latent: Float32Array, dims: readonly number[]): Promise<{ data: Float32Array; dims: number[] }> {
    const opened = await this.acquire('vae_decoder');
    const roles = opened.roles as VaeRoles;
    const out = await this.run('vae_decoder', opened, { [roles.latent.name]: floatTensor(roles.latent.type, latent, dims) }, [
      roles.sample.name,
    ]);
    return readFloat(out[roles.sample.name], roles.sample.name, this.fileOf('vae_decoder'));
  }

  /** Whether the folder has a VAE encoder (image to image, inpainting). */
  get hasVaeEncoder(): boolean {
    return this.files.vae_encoder !== undefined;
  }

  /**
   * VAE encoder: image [1,3,H,W] in [-1, 1] → the latent distribution (not yet shifted or scaled): optimum's
   * latent_parameters [1,32,h,w] (mean ‖ logvar), or [1,16,h,w] the mean itself from an encoder that samples inside
   * its graph (TensorStack's latent_sample), whose session runs the VAE mean pass's derived graph.
   */
  async encodeImage(image: Float32Array, dims: readonly number[]): Promise<{ data: Float32Array; dims: number[] }> {
    if (!this.files.vae_encoder) {
      throw new StudioError(
        'not_found',
        `The model in ${this.folder} has no VAE encoder (vae_encoder/), which image to image and inpainting need. Add it with "Add image-to-image support" on the model's card in the Models view (or \`sd35-studio models add-encoder <model>\`); an imported folder needs the vae_encoder/ folder of its export copied in.`,
        { folder: this.folder, file: 'vae_encoder/model.onnx' },
      );
    }
    const opened = await this.acquire('vae_encoder');
    const roles = opened.roles as VaeEncoderRoles;
    if (roles.latentKind === 'sampled' && !this.meanEncoder) {
      throw new StudioError(
        'unavailable',
        `${this.fileOf('vae_encoder')} draws its own random sample ('${roles.latent.name}') instead of giving the latent distribution; the studio needs its mean for exact, seed-determined results.`,
        { folder: this.folder, file: this.fileOf('vae_encoder') },
      );
    }
    const out = await this.run('vae_encoder', opened, { [roles.image.name]: floatTensor(roles.image.type, image, dims) }, [roles.latent.name]);
    return readFloat(out[roles.latent.name], roles.latent.name, this.fileOf('vae_encoder'));
  }

  /**
   * Releases what the memory mode frees after a phase: balanced frees the text encoders after encoding, low frees
   * everything after use (its text encoders are already gone: doneWithTextEncoder).
   */
  async endPhase(phase: Phase): Promise<void> {
    const mode = this.options.memory;
    if (mode === 'fast') return;
    if (mode === 'balanced' && phase !== 'encode' && phase !== 'encodeImage') return;
    for (const c of PHASE_COMPONENTS[phase]) await this.releaseComponent(c);
  }

  private async releaseComponent(component: ComponentName): Promise<void> {
    const pending = this.pending.get(component);
    if (pending) await pending.catch(() => undefined);
    const opened = this.open.get(component);
    if (!opened) return;
    this.open.delete(component);
    await opened.session.release();
  }

  /**
   * Uses these LoRAs (in this order) for the next runs. The same files as before (by sha256) only change the
   * strengths: no reload. Other files: the sessions of the components they touch are released and created again
   * from derived graphs (prepared now for the current provider, so a LoRA that fits nothing is refused before
   * any step). An empty list goes back to the model's own graphs.
   */
  async useLoras(loras: readonly LoraUse[], names?: readonly string[]): Promise<LoraReport[]> {
    const key = loras.map((l) => l.sha256).join(',');
    if (key === this.loraKey) {
      this.loraStrengths = loras.map((l) => l.strength);
      return this.loraReports;
    }
    const before = [...this.loraGraphs.keys()];
    this.loraGraphs = new Map();
    this.loraKey = '';
    this.loraReports = [];
    this.loraStrengths = [];
    let prepared: { graphs: Map<LoraComponent, LoraGraph>; reports: LoraReport[] } | undefined;
    if (loras.length > 0) {
      const provider = this.providers[0] ?? 'cpu';
      const bases: Partial<Record<LoraComponent, LoraBaseGraph>> = {};
      for (const c of ['text_encoder', 'text_encoder_2', 'text_encoder_3', 'transformer'] as const) {
        const files = this.files[c];
        if (!files) continue;
        // The provider's choice first (it records which ops the portability pass rewrites): the LoRA graph repeats them.
        await this.graphFor(c, provider, true);
        bases[c] = { files, rewrittenOps: (this.rewritten.get(c) ?? []).map((r) => r.op) };
      }
      prepared = await prepareLoraGraphs(this.options.graphsDir ?? processGraphsRoot(), this.folder, bases, loras, names);
    }
    const touched = new Set<ComponentName>([...before, ...(prepared ? [...prepared.graphs.keys()] : [])]);
    for (const c of touched) await this.releaseComponent(c);
    if (prepared) {
      this.loraGraphs = prepared.graphs as Map<ComponentName, LoraGraph>;
      this.loraKey = key;
      this.loraReports = prepared.reports;
      this.loraStrengths = loras.map((l) => l.strength);
    }
    // What the memory mode keeps resident comes back now (the rest when its phase runs).
    const keep: ComponentName[] = this.options.memory === 'fast' ? [...touched] : this.options.memory === 'balanced' ? [...touched].filter((c) => c === 'transformer') : [];
    for (const c of keep) await this.acquire(c);
    return this.loraReports;
  }

  /** Releases every session; the model cannot be used afterwards. */
  async release(): Promise<void> {
    this.released = true;
    for (const c of ALL_COMPONENTS) await this.releaseComponent(c);
  }
}
