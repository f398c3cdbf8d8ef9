// Realistic Stable Diffusion prompts from a seeded generator, for benchmarks and paging tests.
// Built like real prompts: a subject, an action/setting, a style, lighting, camera and quality
// tags, sometimes weights "(word:1.2)", sometimes other languages; negative prompts from the usual list.

const SUBJECTS = [
  'a red fox', 'an old lighthouse keeper', 'a cyberpunk samurai', 'a cat wearing a tiny crown', 'a Victorian greenhouse',
  'a floating island', 'an astronaut', 'a dragon made of glass', 'a bowl of ramen', 'a medieval castle',
  'a portrait of a young woman', 'a portrait of an elderly man', 'a robot gardener', 'a koi pond', 'a steam locomotive',
  'a mountain village', 'a witch', 'a knight in ornate armor', 'a hummingbird', 'a neon-lit alley',
  'a desert caravan', 'an underwater city', 'a treehouse', 'a snow leopard', 'a vintage sports car',
  'a cozy library', 'a lone sailboat', 'a space station', 'a bioluminescent forest', 'a ceramic teapot',
  'a wolf howling', 'a street market', 'a giant sunflower', 'an owl', 'a jazz musician',
  'a paper boat', 'a crystal cave', 'a ballerina', 'a bonsai tree', 'a pirate ship',
  'a mech warrior', 'a fairy', 'a golden retriever puppy', 'a futuristic skyline', 'a haunted mansion',
  'a tea ceremony', 'a chess player', 'a waterfall', 'a hot air balloon', 'a steampunk airship',
];
const SETTINGS = [
  'in a misty forest', 'at sunset', 'on a rainy street', 'in outer space', 'under the northern lights',
  'in a sunlit meadow', 'at the edge of a cliff', 'in a bustling city', 'inside an abandoned factory', 'on the moon',
  'in a snowy landscape', 'beside a calm lake', 'in a field of lavender', 'during a thunderstorm', 'at golden hour',
  'in a candlelit room', 'on a tropical beach', 'in the ruins of an ancient temple', 'among cherry blossoms', 'at dawn',
];
const STYLES = [
  'digital painting', 'oil painting', 'watercolor', 'photorealistic', 'studio ghibli style', 'concept art',
  'ukiyo-e woodblock print', 'art nouveau', 'pixel art', 'low poly 3d render', 'charcoal sketch', 'cinematic still',
  'isometric illustration', 'impressionism', 'baroque', 'synthwave', 'film photograph', 'claymation', 'vector art',
  'matte painting', 'comic book style', 'surrealism', 'minimalist poster', 'gouache', 'analog photo',
];
const ARTISTS = [
  'greg rutkowski', 'alphonse mucha', 'hayao miyazaki', 'james gurney', 'moebius', 'simon stalenhag',
  'beksinski', 'monet', 'van gogh', 'hokusai', 'artgerm', 'wlop', 'craig mullins', 'syd mead', 'rembrandt',
];
const LIGHTING = [
  'volumetric lighting', 'soft light', 'rim light', 'dramatic lighting', 'god rays', 'neon glow', 'backlit',
  'studio lighting', 'ambient occlusion', 'moody lighting', 'bioluminescence', 'candlelight', 'overcast',
];
const CAMERA = [
  '35mm lens', '85mm portrait lens', 'wide angle', 'macro shot', 'bokeh', 'depth of field', 'tilt-shift',
  'aerial view', 'close-up', 'full body shot', 'dutch angle', 'long exposure', 'f/1.8',
];
const QUALITY = [
  'masterpiece', 'best quality', 'highly detailed', 'intricate details', '8k', '4k', 'sharp focus',
  'trending on artstation', 'award winning', 'ultra realistic', 'hdr', 'high resolution', 'octane render',
  'unreal engine 5', 'smooth', 'elegant', 'vibrant colors', 'muted colors', 'pastel palette',
];
const FOREIGN = [
  '夕焼けの中の猫', '桜の木の下で', 'un château dans les nuages', 'eine Katze im Regen', 'café à Paris',
  'Drache über den Bergen', 'niña con paraguas', 'город ночью', '龙在云中飞翔', 'Über den Wolken',
];
const NEGATIVES = [
  'blurry', 'lowres', 'bad anatomy', 'bad hands', 'extra fingers', 'missing fingers', 'watermark', 'text',
  'signature', 'jpeg artifacts', 'worst quality', 'low quality', 'deformed', 'disfigured', 'cropped',
  'out of frame', 'ugly', 'duplicate', 'mutated', 'poorly drawn face', 'oversaturated', 'grainy', 'noise',
];

/** mulberry32: a small seeded PRNG, so every run generates the same history. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)]!;
}

function some<T>(r: () => number, list: readonly T[], min: number, max: number): T[] {
  const n = min + Math.floor(r() * (max - min + 1));
  const out = new Set<T>();
  while (out.size < n) out.add(pick(r, list));
  return [...out];
}

function weighted(r: () => number, tag: string): string {
  return r() < 0.15 ? `(${tag}:${(1 + Math.floor(r() * 5) / 10).toFixed(1)})` : tag;
}

export interface FakePrompt {
  prompt: string;
  negativePrompt: string;
}

export function makePrompt(r: () => number): FakePrompt {
  const parts: string[] = [];
  parts.push(`${pick(r, SUBJECTS)} ${pick(r, SETTINGS)}`);
  if (r() < 0.08) parts.push(pick(r, FOREIGN));
  parts.push(...some(r, STYLES, 1, 2));
  if (r() < 0.4) parts.push(`by ${pick(r, ARTISTS)}`);
  parts.push(...some(r, LIGHTING, 0, 2), ...some(r, CAMERA, 0, 2), ...some(r, QUALITY, 1, 5).map((t) => weighted(r, t)));
  if (r() < 0.05) parts.push(`seed-${Math.floor(r() * 1e6)}`);
  const negativePrompt = r() < 0.3 ? '' : some(r, NEGATIVES, 2, 8).join(', ');
  return { prompt: parts.join(', '), negativePrompt };
}

export const FAKE_MODELS = ['sd3.5-medium', 'sd3.5-large', 'sd3.5-large-turbo', 'my-finetune'] as const;
export const FAKE_SIZES: readonly [number, number][] = [
  [1024, 1024], [1024, 1024], [1024, 1024], [832, 1216], [1216, 832], [768, 768], [1344, 768], [512, 512],
];
