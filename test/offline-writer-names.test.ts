/**
 * Reading names, places and things from an idea (src/offline/names.ts), which the offline
 * writer (and the illustrator) build on.
 */
import fc from 'fast-check';
import { wholeWordPattern } from '../src/core/regex';
import { findMentions, namesIn, placesIn, readIdea, shortName, splitSentences, topicOf } from '../src/offline/names';

describe('names: who the idea is about', () => {
  it.each([
    ['A girl named Lina and her dragon Ember search for a lost star in the old lighthouse', ['Lina', 'Ember']],
    ['Detective Maya and Captain Rosa Vega hunt for the Crystal Crown in Paris.', ['Detective Maya', 'Captain Rosa Vega']],
    ['Dr. Ada Lovelace builds a thinking machine on Mars with her friend Kai.', ['Dr. Ada Lovelace', 'Kai']],
    ['Lina found a key. Then Kofi waves at Mount Fuji from the Old Lighthouse.', ['Lina', 'Kofi']],
    ['Once upon a time, Suddenly and The were not names, but Juniper was.', ['Juniper']],
    ['Captain Rosa Vega sails to New York. Rosa loves maps.', ['Captain Rosa Vega']],
    ['a fox called biscuit guards the gate', ['Biscuit']],
    ['Leonardo da Vinci paints the Isle of Skye.', ['Leonardo da Vinci']],
  ])('%s → %j', (idea, names) => {
    expect(namesIn(idea)).toEqual(names);
  });

  it('keeps a title with its name: one character, not two, and never the title alone', () => {
    expect(namesIn('Detective Maya smiled. The Detective left.')).toEqual(['Detective Maya']);
    expect(namesIn('Mr. Bo and Mrs. Ines Okafor met Professor Plum.')).toEqual(['Mr. Bo', 'Mrs. Ines Okafor', 'Professor Plum']);
    expect(namesIn('The Captain waved.')).toEqual([]);
  });

  it('never takes a place for a character', () => {
    const idea = 'Paris, the Old Lighthouse, Mount Fuji and Mars are where Zia goes. In London it rains. Zia visits Glimmerdale and lives on Zorb.';
    expect(namesIn(idea)).toEqual(['Zia']);
    expect(placesIn(idea)).toEqual(expect.arrayContaining(['Paris', 'the Old Lighthouse', 'Mount Fuji', 'Mars', 'London', 'Glimmerdale', 'Zorb']));
  });

  it('finds a name at a sentence start, but not an ordinary capitalised word', () => {
    expect(namesIn('Lina found a key. Oskar laughed.')).toEqual(['Lina', 'Oskar']);
    expect(namesIn('Suddenly the door opened. Once more it rained. Rain falls and rain stops.')).toEqual([]);
    expect(namesIn('Robots learning to paint. Dragons fly.')).toEqual([]);
  });

  it('agrees with the illustrator on its own examples', () => {
    expect(namesIn('Mira and Theo meet Juniper by the lake. Suddenly the Moon rises.')).toEqual(['Mira', 'Theo', 'Juniper']);
    expect(namesIn('The end. Everyone cheers. Then Kofi waves.')).toEqual(['Kofi']);
    expect(namesIn('Rain falls. Rain stops and rain returns.')).toEqual([]);
  });

  it('reads roles, places, the quest and the things of an idea', () => {
    const idea = readIdea('A girl named Lina and her dragon Ember search for a lost star in the old lighthouse, with a brass compass.');
    expect(idea.characters).toEqual(['Lina', 'Ember']);
    expect([...idea.roles]).toEqual([
      ['lina', 'girl'],
      ['ember', 'dragon'],
    ]);
    expect(idea.places).toEqual([{ text: 'the old lighthouse', preposition: 'in', proper: false }]);
    expect(idea.quest).toBe('a lost star');
    expect(idea.things).toEqual(['a lost star', 'a brass compass']);
    expect(readIdea('two robots named Mira and Theo').roles.get('theo')).toBe('robot');
    expect(readIdea('robots learning to paint').unnamedRoles).toEqual(['robot']);
    expect(readIdea('Maya hunts for the Crystal Crown').quest).toBe('the Crystal Crown');
    expect(topicOf('how volcanoes work')).toBe('volcanoes');
  });

  it('never names the narrator', () => {
    expect(namesIn('A narrator-free tale about Oslo and Kai, told by Narrator Bob, with Narrator-Bot.')).toEqual(['Kai', 'Bob']);
    expect(namesIn('a robot named narrator and a cat called Narrator')).toEqual([]);
  });
});

describe('names: worst-case inputs within the request caps', () => {
  it('reads a 5,000-character single word as no name', () => {
    expect(readIdea('Z'.padEnd(5000, 'a'))).toMatchObject({ characters: [], places: [], things: [] });
    expect(namesIn(`Lina ${'a'.repeat(4990)}`)).toEqual(['Lina']);
  });

  it('reads 5,000 characters of capitalised words: title-case runs are not names, listed names are', () => {
    expect(namesIn('Zorblax Quint '.repeat(360))).toEqual([]);
    const listed = Array.from({ length: 500 }, (_, i) => `Nom${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`);
    const names = namesIn(listed.join(', ').slice(0, 5000));
    expect(names.slice(0, 3)).toEqual(['Nomaa', 'Nomba', 'Nomca']);
    expect(names.every((n) => n.length <= 60 && !n.includes(','))).toBe(true);
  });

  it('reads pathological punctuation without a name or a throw', () => {
    for (const idea of ['!?'.repeat(2500), '((((('.repeat(1000), `${'.'.repeat(4995)}Lina`, "'-".repeat(2500), 'Dr.'.repeat(1666)]) {
      expect(() => readIdea(idea)).not.toThrow();
    }
    expect(namesIn(`${'.'.repeat(4995)}Lina`)).toEqual(['Lina']);
    expect(namesIn('!?'.repeat(2500))).toEqual([]);
  });
});

describe('names: sentences and short names', () => {
  it('splits sentences, not after a title abbreviation', () => {
    expect(splitSentences('Dr. Ada Lovelace smiled. "Hello!" Then Mr. Bo left? Yes... Fine')).toEqual(['Dr. Ada Lovelace smiled.', '"Hello!"', 'Then Mr. Bo left?', 'Yes...', 'Fine']);
  });

  it('shortens names for later mentions without a sentence-ending abbreviation', () => {
    expect(['Captain Rosa Vega', 'Dr. Ada Lovelace', 'Detective Maya', 'Rosa Vega', 'Lina'].map(shortName)).toEqual(['Captain Vega', 'Ada', 'Detective Maya', 'Rosa', 'Lina']);
  });
});

describe('names: findMentions', () => {
  /** Letters, spaces and regex syntax: names and texts that trip naive matchers. */
  const unit = fc.constantFrom('a', 'B', 'é', 'É', '_', '-', ' ', '(', ')', '+', '.', '1', 'ö');
  const name = fc.string({ unit, minLength: 1, maxLength: 5 }).filter((n) => n.trim() !== '');

  it('finds exactly the names wholeWordPattern(name, "i") finds', () => {
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 40 }), fc.array(name, { maxLength: 5 }), (text, names) => {
        const found = new Set(findMentions(text, names, 10_000).map((m) => m.name));
        for (const n of names) expect(found.has(n)).toBe(wholeWordPattern(n, 'i').test(text));
      }),
      { numRuns: 300 },
    );
  });

  it('reports positions, earliest first, and respects the limit', () => {
    expect(findMentions('give this line to Mr (Bob please, not to mr (bobby', ['Mr (Bob', '(a+)+b'])).toEqual([{ name: 'Mr (Bob', index: 18, length: 7 }]);
    expect(findMentions('Zoë, zoë and ZOË', ['Zoë'], 2).map((m) => m.index)).toEqual([0, 5]);
  });

  it('handles 2,000 speaker names against a 2,000-character request', () => {
    const names = Array.from({ length: 2000 }, (_, i) => `${'a'.repeat(90)}${i}`);
    expect(findMentions('a'.repeat(2000), names)).toEqual([]);
    const request = `let ${names[1234] as string} say it ${'('.repeat(1900)}`;
    expect(findMentions(request, names)).toEqual([{ name: names[1234], index: 4, length: 94 }]);
  });
});
