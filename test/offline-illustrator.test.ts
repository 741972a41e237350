import { PNG } from 'pngjs';
import type { ImageEditRequest, ImageRequest } from '../src/core/ports';
import { characterLook, describeScene, jobOf, namesIn, OfflineIllustrator, renderPng, styleColor, styleFlags } from '../src/offline/illustrator';
import { fontText, glyphRows, textWidth } from '../src/offline/png-font';

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

function request(prompt: string, over: Partial<ImageRequest> = {}): ImageRequest {
  return { prompt, artStyle: 'storybook', seed: 'job-1#1', width: 256, height: 256, ...over };
}

function decode(png: Uint8Array): PNG {
  return PNG.sync.read(Buffer.from(png));
}

/** Mean luma of rows [y0, y1) of a decoded image. */
function meanLuma(img: PNG, y0: number, y1: number): number {
  let sum = 0;
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * 4;
      sum += 0.299 * img.data[i]! + 0.587 * img.data[i + 1]! + 0.114 * img.data[i + 2]!;
      n++;
    }
  }
  return sum / n;
}

// Plain arithmetic instead of Math.abs: Math.* calls are slow inside jest's sandbox.
const abs = (v: number): number => (v < 0 ? -v : v);

/** Mean absolute per-channel difference between two same-sized images. */
function meanAbsDiff(a: PNG, b: PNG): number {
  let sum = 0;
  for (let i = 0; i < a.data.length; i += 4) {
    sum += abs(a.data[i]! - b.data[i]!) + abs(a.data[i + 1]! - b.data[i + 1]!) + abs(a.data[i + 2]! - b.data[i + 2]!);
  }
  return sum / ((a.data.length / 4) * 3);
}

/** Share of pixels whose mean channel difference is at most `limit`. */
function similarShare(a: PNG, b: PNG, limit: number): number {
  let same = 0;
  for (let i = 0; i < a.data.length; i += 4) {
    const d = (abs(a.data[i]! - b.data[i]!) + abs(a.data[i + 1]! - b.data[i + 1]!) + abs(a.data[i + 2]! - b.data[i + 2]!)) / 3;
    if (d <= limit) same++;
  }
  return same / (a.data.length / 4);
}

/** Pearson correlation of the two images' luma: high when the composition is kept. */
function lumaCorrelation(a: PNG, b: PNG): number {
  const n = a.data.length / 4;
  const la = new Float64Array(n);
  const lb = new Float64Array(n);
  let ma = 0;
  let mb = 0;
  for (let p = 0, i = 0; p < n; p++, i += 4) {
    la[p] = 0.299 * a.data[i]! + 0.587 * a.data[i + 1]! + 0.114 * a.data[i + 2]!;
    lb[p] = 0.299 * b.data[i]! + 0.587 * b.data[i + 1]! + 0.114 * b.data[i + 2]!;
    ma += la[p]!;
    mb += lb[p]!;
  }
  ma /= n;
  mb /= n;
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let p = 0; p < n; p++) {
    cov += (la[p]! - ma) * (lb[p]! - mb);
    va += (la[p]! - ma) * (la[p]! - ma);
    vb += (lb[p]! - mb) * (lb[p]! - mb);
  }
  return cov / Math.sqrt(va * vb);
}

describe('OfflineIllustrator.generate', () => {
  const ill = new OfflineIllustrator();

  it('reports its provider and model and returns a valid PNG of the requested size', async () => {
    expect(ill.provider).toBe('offline-illustrator');
    const out = await ill.generate(request('Mira walks through the forest.', { width: 320, height: 200 }));
    expect(out.model).toBe('offline-illustrator-v1');
    expect(out.png).toBeInstanceOf(Uint8Array);
    expect([...out.png.subarray(0, 8)]).toEqual(SIGNATURE);
    const img = decode(out.png);
    expect(img.width).toBe(320);
    expect(img.height).toBe(200);
  });

  it('clamps the size to 64..1024', async () => {
    const small = decode((await ill.generate(request('A tiny scene.', { width: 10, height: 5000 }))).png);
    expect([small.width, small.height]).toEqual([64, 1024]);
    const odd = decode((await ill.generate(request('A scene.', { width: Number.NaN, height: 99.6 }))).png);
    expect(odd.height).toBe(100);
    expect(odd.width).toBeGreaterThanOrEqual(64);
  });

  it('is deterministic for the same prompt, style and seed', async () => {
    const req = request('At night Theo the fox watches the stars over the castle.', { artStyle: 'watercolor' });
    const a = await ill.generate(req);
    const b = await ill.generate({ ...req });
    expect(Buffer.from(a.png).equals(Buffer.from(b.png))).toBe(true);
  });

  it('draws measurably different images for different prompts, even without scene keywords', async () => {
    const pairs: Array<[string, string]> = [
      ['Mira and her dog walk through the forest by a river.', 'A dragon circles the snowy mountains above the village.'],
      ['Something unexpected happened.', 'Everyone laughed together.'],
    ];
    for (const [p1, p2] of pairs) {
      const a = (await ill.generate(request(p1))).png;
      const b = (await ill.generate(request(p2))).png;
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
      expect(meanAbsDiff(decode(a), decode(b))).toBeGreaterThan(4);
    }
  });

  it('changes with the seed for the same prompt', async () => {
    const a = decode((await ill.generate(request('A quiet afternoon.', { seed: 'job-1#1' }))).png);
    const b = decode((await ill.generate(request('A quiet afternoon.', { seed: 'job-1#2' }))).png);
    expect(meanAbsDiff(a, b)).toBeGreaterThan(2);
  });

  it('paints a dark sky for night scenes and a bright one for day scenes', async () => {
    const seeds = ['a', 'b', 'c'];
    for (const seed of seeds) {
      const night = decode((await ill.generate(request('Under the moon and the stars, the owl hoots at night.', { seed }))).png);
      const day = decode((await ill.generate(request('On a sunny morning the children play in the meadow.', { seed }))).png);
      const top = Math.round(night.height * 0.25);
      expect(meanLuma(day, 0, top)).toBeGreaterThan(meanLuma(night, 0, top) + 60);
    }
  });

  it('changes the rendering with the art style', async () => {
    const prompt = 'A girl and a cat on the beach at sunset near the lighthouse.';
    const styles = ['watercolor', 'comic', 'pixel art', 'noir', 'sketch', 'oil painting', 'storybook'];
    const images = await Promise.all(styles.map(async (artStyle) => decode((await ill.generate(request(prompt, { artStyle, width: 512, height: 512 }))).png)));
    for (let i = 0; i < images.length; i++) {
      for (let j = i + 1; j < images.length; j++) expect(meanAbsDiff(images[i]!, images[j]!)).toBeGreaterThan(2);
    }
    // Noir is grayscale above the caption strip.
    const noir = images[3]!;
    let coloured = 0;
    for (let i = 0; i < noir.width * Math.round(noir.height * 0.8) * 4; i += 4) {
      if (noir.data[i] !== noir.data[i + 1] || noir.data[i + 1] !== noir.data[i + 2]) coloured++;
    }
    expect(coloured).toBe(0);
    // Pixel art is made of flat 8x8 blocks at 512 px.
    const pixel = images[2]!;
    for (const [bx, by] of [
      [0, 0],
      [64, 40],
      [200, 160],
      [400, 296],
    ] as const) {
      const first = pixel.data.readUInt32BE((by * pixel.width + bx) * 4);
      let off = 0;
      for (let y = by; y < by + 8; y++) {
        for (let x = bx; x < bx + 8; x++) if (pixel.data.readUInt32BE((y * pixel.width + x) * 4) !== first) off++;
      }
      expect(off).toBe(0);
    }
  });

  it('knows the style families and gives unknown styles their own tweak', () => {
    expect(styleFlags('Soft watercolour').soft).toBe(true);
    expect(styleFlags('comic book').bold).toBe(true);
    expect(styleFlags('8-bit pixel').pixel).toBe(true);
    expect(styleFlags('film noir').noir).toBe(true);
    expect(styleFlags('pencil sketch').sketch).toBe(true);
    const a = styleFlags('oil painting');
    const b = styleFlags('claymation');
    expect(a.hue).not.toBe(0);
    expect([a.hue, a.saturation]).not.toEqual([b.hue, b.saturation]);
  });
});

describe('describeScene', () => {
  it('reads time of day, weather, setting and characters from the words', () => {
    const s = describeScene('At night Mira and her dog walk through the rainy forest by the river.');
    expect(s.time).toBe('night');
    expect(s.weather).toBe('rain');
    expect(s.trees).toBeGreaterThan(5);
    expect(s.water).toBe('river');
    expect(s.figures.map((f) => f.kind)).toEqual(['person', 'dog']);
    expect(describeScene('A golden sunset over the sea.').time).toBe('sunset');
    expect(describeScene('The rocket leaves the planet.').space).toBe(true);
    expect(describeScene('Snow covers the castle on the hill.')).toMatchObject({ weather: 'snow', buildings: 'castle', mountains: true });
    expect(describeScene('A plain room.').figures).toEqual([]);
  });

  it('finds names, including at a sentence start, but not ordinary capitalised words', () => {
    expect(namesIn('Mira and Theo meet Juniper by the lake. Suddenly the Moon rises.')).toEqual(['Mira', 'Theo', 'Juniper']);
    expect(namesIn('The end. Everyone cheers. Then Kofi waves.')).toEqual(['Kofi']);
    expect(namesIn('Rain falls. Rain stops and rain returns.')).toEqual([]);
  });
});

type Rgb = readonly [number, number, number];

/** Pixels within `tol` of colour `c` on every channel, in rows [y0, y1). */
function countNear(img: PNG, c: Rgb, tol: number, y0 = 0, y1 = img.height): number {
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * 4;
      if (abs(img.data[i]! - c[0]) <= tol && abs(img.data[i + 1]! - c[1]) <= tol && abs(img.data[i + 2]! - c[2]) <= tol) n++;
    }
  }
  return n;
}

/** How many rows lie between the first and the last row holding colour `c` (within 2). */
function rowsWith(img: PNG, c: Rgb): number {
  let top = -1;
  let bottom = -1;
  for (let y = 0; y < img.height; y++) {
    if (countNear(img, c, 2, y, y + 1) === 0) continue;
    if (top < 0) top = y;
    bottom = y;
  }
  return top < 0 ? 0 : bottom - top + 1;
}

/** Pixels brighter than `limit` (luma) in rows [y0, y1). */
function countBright(img: PNG, limit: number, y0: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * 4;
      if (0.299 * img.data[i]! + 0.587 * img.data[i + 1]! + 0.114 * img.data[i + 2]! > limit) n++;
    }
  }
  return n;
}

/** A colour as the 'storybook' style (an unknown style: a per-pixel hue turn) paints it. */
const storybook = (c: Rgb): Rgb => {
  const out = styleColor('storybook', c);
  if (out === undefined) throw new Error('storybook is a per-pixel style');
  return out;
};

describe('characters', () => {
  const render = (prompt: string, seed: string): PNG => decode(renderPng({ prompt, artStyle: 'storybook', seed, width: 256, height: 256 }));

  it('derives a named character\'s look from the job and the name, not the panel', () => {
    expect(jobOf('job-A:3')).toBe('job-A');
    expect(jobOf('a:b:12')).toBe('a:b');
    expect(jobOf('job-1#1')).toBe('job-1#1');
    expect(jobOf('job:x')).toBe('job:x');
    const look = characterLook('job-A:1', 'Lina');
    expect(characterLook('job-A:2', 'Lina')).toEqual(look);
    expect(characterLook('job-A:6', 'lina')).toEqual(look);
    expect(characterLook('job-B:1', 'Lina')).not.toEqual(look);
    expect(characterLook('job-A:1', 'Omar')).not.toEqual(look);
    expect(look.size).toBeGreaterThanOrEqual(0.85);
    expect(look.size).toBeLessThanOrEqual(1.15);
  });

  it('paints the same character with the same colours in every panel of a job, and differently in another job or for another name', () => {
    const signature = (seed: string, name: string): Rgb[] => {
      const look = characterLook(seed, name);
      return [storybook(look.shirt), storybook(look.hair)];
    };
    const present = (img: PNG, colours: Rgb[]): number[] => colours.map((c) => countNear(img, c, 2));
    const lina = signature('job-A:1', 'Lina');
    const panel1 = render('Lina walks through the meadow on a sunny morning.', 'job-A:1');
    const panel2 = render('Lina sits in the garden at noon.', 'job-A:2');
    for (const panel of [panel1, panel2]) {
      const [shirt, hair] = present(panel, lina);
      expect(shirt).toBeGreaterThan(150);
      expect(hair).toBeGreaterThan(40);
    }
    // The same size too: the hair is as tall in both panels (up to a pixel of rounding).
    const [hairHeight1, hairHeight2] = [panel1, panel2].map((img) => rowsWith(img, lina[1] as Rgb));
    expect(hairHeight1).toBeGreaterThan(8);
    expect(abs((hairHeight1 as number) - (hairHeight2 as number))).toBeLessThanOrEqual(1);
    // Another job's Lina, and another name in this job, wear other colours.
    const otherJob = render('Lina walks through the meadow on a sunny morning.', 'job-B:1');
    const otherName = render('Omar walks through the meadow on a sunny morning.', 'job-A:1');
    const nobody = render('Nobody walks through the meadow on a sunny morning.', 'job-A:1');
    for (const img of [otherJob, otherName, nobody]) expect(present(img, lina)[0]).toBeLessThan(10);
    expect(present(otherJob, signature('job-B:1', 'Lina'))[0]).toBeGreaterThan(150);
    expect(present(otherName, signature('job-A:1', 'Omar'))[0]).toBeGreaterThan(150);
  });

  it('draws a named character as the creature it is introduced as, once', () => {
    const s = describeScene('Lina and her dragon Ember look for a lost star. The dragon flies.');
    expect(s.figures).toEqual([
      { kind: 'person', dress: expect.any(Boolean), name: 'Lina' },
      { kind: 'dragon', dress: false, name: 'Ember' },
    ]);
    expect(describeScene('Theo the fox meets a fox.').figures.map((f) => [f.kind, f.name])).toEqual([
      ['fox', 'Theo'],
    ]);
    expect(describeScene('Ember, the little red dragon, sleeps.').figures.map((f) => f.kind)).toEqual(['dragon']);
    // A figure word across a sentence end does not bind.
    expect(describeScene('I saw a dragon. Ember smiled.').figures.map((f) => [f.kind, f.name])).toEqual([
      ['person', 'Ember'],
      ['dragon', undefined],
    ]);
    // Scene words are not names, even as sentence openers.
    expect(describeScene('Fish jump. Butterflies dance.').figures).toEqual([]);
  });
});

describe('named things', () => {
  const render = (prompt: string, seed: string): PNG => decode(renderPng({ prompt, artStyle: 'storybook', seed, width: 256, height: 256 }));

  it('reads the things a scene names', () => {
    expect(describeScene('Lina lights a lantern by the boat under the moon; a rainbow and two kites.').things).toEqual(['lantern', 'boat', 'moon', 'rainbow', 'kite']);
    expect(describeScene('A ship, a windmill, mushrooms, a tent, treasure, butterflies, a snowman and a bridge.').things).toEqual([
      'ship',
      'windmill',
      'mushroom',
      'tent',
      'treasure',
      'butterfly',
      'snowman',
      'bridge',
    ]);
    expect(describeScene('A boat on the lake.').water).toBe('lake');
    expect(describeScene('They cross the bridge.').water).toBe('river');
    expect(describeScene('Mira waves at Theo.').water).toBe('none');
    expect(describeScene('A unicorn and two horses.').figures.map((f) => f.kind)).toEqual(['unicorn', 'horse', 'horse']);
    expect(describeScene('The constructor of the toString.').figures).toEqual([]);
  });

  it('draws the moon in the sky only when the scene names it', () => {
    for (const seed of ['m:1', 'm:2', 'm:3', 'm:4']) {
      const plain = render('It is night on the quiet hills.', seed);
      const moon = render('It is night on the quiet hills under the moon.', seed);
      const sky = Math.round(plain.height * 0.4);
      expect(countBright(moon, 200, 0, sky)).toBeGreaterThan(countBright(plain, 200, 0, sky) + 40);
      expect(countBright(plain, 200, 0, sky)).toBeLessThan(30);
    }
  });

  it('draws a named star in the sky and a named lantern on the ground', () => {
    const gold = storybook([255, 214, 80]);
    const light = storybook([255, 214, 110]);
    for (const seed of ['s:1', 's:2']) {
      const star = render('Mira looks for a lost star over the hills.', seed);
      const none = render('Mira looks for a lost ring over the hills.', seed);
      const sky = Math.round(star.height * 0.45);
      expect(countNear(star, gold, 2, 0, sky)).toBeGreaterThan(40);
      expect(countNear(none, gold, 2, 0, sky)).toBe(0);

      const lantern = render('At night Kofi crosses the fields with a lantern.', seed);
      const dark = render('At night Kofi crosses the fields with a basket.', seed);
      const ground = [Math.round(lantern.height * 0.45), Math.round(lantern.height * 0.92)] as const;
      expect(countNear(lantern, light, 2, ...ground)).toBeGreaterThan(12);
      expect(countNear(dark, light, 2, ...ground)).toBe(0);
    }
  });
});

describe('OfflineIllustrator.edit', () => {
  const ill = new OfflineIllustrator();
  const base = request('Mira and her dog walk through the forest by a river on a sunny morning.', { width: 384, height: 320 });

  async function editOf(instruction: string, over: Partial<ImageEditRequest> = {}): Promise<{ original: PNG; edited: PNG; bytes: Uint8Array }> {
    const original = (await ill.generate(base)).png;
    const out = await ill.edit({ ...base, original, instruction, ...over });
    expect(out.model).toBe('offline-illustrator-v1');
    expect([...out.png.subarray(0, 8)]).toEqual(SIGNATURE);
    return { original: decode(original), edited: decode(out.png), bytes: out.png };
  }

  it('returns a PNG of the original size that differs from it but keeps its composition', async () => {
    for (const instruction of ['Add a rainbow and some flowers', 'Make it snow', 'Make everything a little more blue', 'zzz qqq']) {
      const { original, edited } = await editOf(instruction);
      expect([edited.width, edited.height]).toEqual([original.width, original.height]);
      expect(meanAbsDiff(original, edited)).toBeGreaterThan(1.5);
      expect(similarShare(original, edited, 48)).toBeGreaterThan(0.6);
      expect(lumaCorrelation(original, edited)).toBeGreaterThan(0.75);
    }
  });

  it('keeps the original size even when the request asks for another', async () => {
    const { original, edited } = await editOf('add a bird', { width: 1000, height: 90 });
    expect([edited.width, edited.height]).toEqual([original.width, original.height]);
  });

  it('darkens the sky for night and brightens it for day', async () => {
    const night = await editOf('Make it night with stars');
    const top = Math.round(night.original.height * 0.25);
    expect(meanLuma(night.edited, 0, top)).toBeLessThan(meanLuma(night.original, 0, top) - 40);
    expect(lumaCorrelation(night.original, night.edited)).toBeGreaterThan(0.75);

    const nightOriginal = (await ill.generate({ ...base, prompt: 'The owl hoots at night under the moon.' })).png;
    const day = decode((await ill.edit({ ...base, original: nightOriginal, instruction: 'make it a bright sunny day' })).png);
    expect(meanLuma(day, 0, top)).toBeGreaterThan(meanLuma(decode(nightOriginal), 0, top) + 30);
  });

  it('is deterministic and depends on the instruction', async () => {
    const a = await editOf('add rain');
    const b = await editOf('add rain');
    const c = await editOf('add snow');
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(Buffer.from(a.bytes).equals(Buffer.from(c.bytes))).toBe(false);
  });

  it('rejects an original that is not a PNG', async () => {
    await expect(ill.edit({ ...base, original: new Uint8Array([1, 2, 3]), instruction: 'x' })).rejects.toThrow(/not a readable PNG/);
  });
});

describe('latency and cancellation', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('waits latencyMs before answering', async () => {
    jest.useFakeTimers();
    const ill = new OfflineIllustrator({ latencyMs: 5000 });
    let done = false;
    const pending = ill.generate(request('A slow picture.', { width: 64, height: 64 })).then((out) => {
      done = true;
      return out;
    });
    await jest.advanceTimersByTimeAsync(4999);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await jest.runAllTimersAsync(); // the drawing itself waits for a turn of its own (setImmediate)
    const out = await pending;
    expect(done).toBe(true);
    expect(decode(out.png).width).toBe(64);
  });

  it('rejects with an AbortError and clears its timer when aborted during the latency', async () => {
    jest.useFakeTimers();
    const ill = new OfflineIllustrator({ latencyMs: 60_000 });
    const controller = new AbortController();
    const pending = ill.generate(request('Never drawn.', { signal: controller.signal }));
    expect(jest.getTimerCount()).toBe(1);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(jest.getTimerCount()).toBe(0);
  });

  it('rejects with the signal reason, also for edits and already-aborted signals', async () => {
    const ill = new OfflineIllustrator({ latencyMs: 60_000 });
    const reason = new Error('user went away');
    const controller = new AbortController();
    const original = renderPng(request('Something.'));
    const pending = ill.edit({ ...request('Something.'), original, instruction: 'add rain', signal: controller.signal });
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);

    const instant = new OfflineIllustrator();
    await expect(instant.generate(request('x', { signal: AbortSignal.abort() }))).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('png-font', () => {
  it('maps text to the glyph set', () => {
    expect(fontText('Café — “hi”… ~')).toBe('CAFE - "HI"... ?');
    expect(glyphRows('A')).toHaveLength(7);
    expect(glyphRows('~')).toEqual(glyphRows('?'));
    expect(textWidth('AB', 2)).toBe((2 * 6 - 1) * 2);
    expect(textWidth('', 3)).toBe(0);
  });
});
