/**
 * Numbers said in words ("store five", "twelve weeks", "twenty-three"), turned into digits
 * before anything else reads the question. Hand-written: questions name small numbers (stores,
 * departments, weeks), and the packages for this are unmaintained (words-to-numbers, last
 * published 2018) or a whole NLP toolkit (compromise) for a hundred words.
 */
// Maps, not object literals: the words are the user's, and "constructor" or "__proto__" must
// read as words, not as Object.prototype's members.
const UNITS = new Map(Object.entries({
  zero: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17, eighteen: 18, nineteen: 19,
}));
const TENS = new Map(Object.entries({ twenty: 20, thirty: 30, forty: 40, fourty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90 }));
/** Said as counts: "a dozen weeks", "a couple of stores". */
const COUNTS = new Map(Object.entries({ dozen: 12, couple: 2 }));

function valueOf(word: string): { value: number; kind: 'unit' | 'tens' | 'hundred' } | undefined {
  const unit = UNITS.get(word);
  if (unit !== undefined) return { value: unit, kind: 'unit' };
  const tens = TENS.get(word);
  if (tens !== undefined) return { value: tens, kind: 'tens' };
  if (word === 'hundred') return { value: 100, kind: 'hundred' };
  return undefined;
}

/**
 * Replaces each run of number words with its value: "store twenty five" -> "store 25",
 * "one hundred and four" -> "104", "a dozen" -> "12". Words come lower-cased.
 */
export function numbersInWords(words: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const count = w === 'a' || w === 'the' ? COUNTS.get(words[i + 1] ?? '') : undefined;
    if (count !== undefined) {
      out.push(String(count));
      i += words[i + 2] === 'of' ? 2 : 1;
      continue;
    }
    const parts = w.split('-');
    if (!valueOf(parts[0]!)) {
      out.push(w);
      continue;
    }
    let total = 0;
    let current = 0;
    let j = i;
    // "twenty-five" is one word of two parts; "twenty five", "one hundred and four" are several.
    const take = (part: string): boolean => {
      const v = valueOf(part);
      if (!v) return false;
      if (v.kind === 'hundred') current = (current || 1) * 100;
      else if (v.kind === 'unit' && current % 10 !== 0) return false;
      else if (v.kind === 'tens' && current % 100 !== 0) return false;
      else current += v.value;
      return true;
    };
    if (!parts.every(take)) {
      out.push(w);
      continue;
    }
    while (j + 1 < words.length) {
      const next = words[j + 1]!;
      if (next === 'and' && current >= 100 && words[j + 2] && valueOf(words[j + 2]!.split('-')[0]!)) {
        j++;
        continue;
      }
      const before = current;
      if (!next.split('-').every(take)) {
        current = before;
        break;
      }
      j++;
    }
    total += current;
    out.push(String(total));
    i = j;
  }
  return out;
}

const ORDINALS = new Map(Object.entries({ first: 1, second: 2, third: 3, fourth: 4, fifth: 5, sixth: 6, seventh: 7, eighth: 8, ninth: 9, tenth: 10 }));

/** "the fifth" as 5, for "store number five" spelled as an ordinal now and then. */
export function ordinal(word: string): number | undefined {
  const m = /^(\d+)(st|nd|rd|th)$/.exec(word);
  return m ? Number(m[1]) : ORDINALS.get(word);
}
