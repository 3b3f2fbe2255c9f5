import { closest, distance } from 'fastest-levenshtein';
import type { Command, OptionDef, ParsedOptions } from '../command.ts';
import type { CommandRegistry } from '../dispatch.ts';
import { formatOptions } from '../parse.ts';
import { readWhen, type When } from './dates.ts';
import { CHOICE_WORDS, INTENTS, KNOWN_WORDS } from './lexicon.ts';
import { numbersInWords } from './numbers.ts';

/** What the reader knows of this chain: names people use, and the last week of data. */
export interface Vocabulary {
  /** Region names as stored (`West`). */
  regions: readonly string[];
  /** Departments that have a name (`Toys`); most imports name none, so `dept 7` is the usual way. */
  departments: readonly { id: number; name: string }[];
  /** Campaign names (`spring-push`). */
  campaigns: readonly string[];
  /** The last week of sales: relative dates count from it (dates.ts). */
  asOf: string;
}

/** One way to read a question: a command line with its score. */
export interface Reading {
  command: string;
  options: ParsedOptions;
  /** The command line it runs, e.g. `/sales store 5 from 2012-10-26`. */
  line: string;
  score: number;
  /** Required options the question did not say (`store` for "which stores are low on stock"). */
  missing: string[];
  /** A region said that this command could not take: the stores to offer when `store` is missing. */
  region?: string;
}

/** What a question names, found once and offered to every command that has an option for it. */
interface Slots {
  stores: number[];
  dept?: number;
  region?: string;
  campaign?: string;
  segment?: number;
  limit?: number;
  version?: number;
  when: When;
}

/** Never corrected as typos: they are words, just not ours. */
const COMMON = new Set(
  'the a an and or of in on at to for by with from how did does do done doing what which who whom whose when where why will would could should can is are was were be been being has have had this that these those there their they them it its my me our us we you your about over under into than then last next sell sold make made much many more most less least week weeks month year just also some any all each every per get got give show tell see look like going gonna want need please store stores dept'.split(' '),
);

/**
 * Short forms people type, read as the word (too short to mend as typos safely). A Map: a typed
 * "__proto__" or "constructor" is a word, not Object.prototype's member.
 */
const SHORT = new Map(Object.entries({
  lst: 'last', nxt: 'next', hw: 'how', wht: 'what', whats: 'what is', pls: 'please', plz: 'please', wk: 'week', wks: 'weeks',
  yr: 'year', yrs: 'years', mo: 'month', mos: 'months', mth: 'month', mths: 'months', dep: 'dept', stor: 'store', stok: 'stock', u: 'you', r: 'are',
}));

/**
 * Lower-case words, punctuation off, "store #5" and "store5" apart, numbers in digits, typos
 * mended towards the words that matter (never towards the chain's own names, which are kept).
 */
export function normalise(text: string, vocabulary?: Vocabulary): string {
  const cleaned = text
    .toLowerCase()
    .replace(/<[@#!&][^>]*>/g, ' ')
    // "next week's sales" is next week's, not "next weeks".
    .replace(/\b(day|week|month|quarter|year)[\u2019']s\b/g, '$1')
    .replace(/[\u2018\u2019']/g, '')
    .replace(/[\u201c\u201d"?!,;()[\]{}]/g, ' ')
    .replace(/\b(super)\s+(bowl)\b/g, 'super-bowl')
    .replace(/\b(labou?r)\s+(day)\b/g, 'labor-day')
    .replace(/\b(store|dept|department|segment|s|d)#?(\d+)\b/g, '$1 $2')
    .replace(/#(\d+)/g, ' $1')
    .replace(/(\d),(\d{3})\b/g, '$1$2')
    .replace(/\.(?=\s|$)/g, ' ')
    .replace(/:/g, ' ');
  const own = new Set(
    [...(vocabulary?.regions ?? []), ...(vocabulary?.campaigns ?? []), ...(vocabulary?.departments ?? []).map((d) => d.name)].flatMap((n) => n.toLowerCase().split(/[\s-]+/)),
  );
  const words = cleaned
    .split(/\s+/)
    .filter(Boolean)
    .flatMap((w) => (SHORT.get(w) ?? (own.has(w) ? w : mend(w))).split(' '));
  return numbersInWords(words).join(' ');
}

/**
 * A near miss of a word that matters ("forcast", "inventroy", "sotre"). Short words are only
 * mended by a swap: "test" is one letter from "best" and "west" from "week".
 */
function mend(word: string): string {
  if (word.length < 4 || COMMON.has(word) || /\d/.test(word) || KNOWN_WORDS.includes(word)) return word;
  // An inflection of a word that matters ("compared", "promotions") is a word, not a typo.
  if (KNOWN_WORDS.some((k) => k.length >= 4 && word.startsWith(k))) return word;
  const near = closest(word, KNOWN_WORDS);
  const limit = word.length <= 4 ? 0 : word.length <= 7 ? 1 : 2;
  return distance(word, near) <= limit || swapped(word, near) ? near : word;
}

/** "sotre" for "store": two letters swapped, which Levenshtein counts as two edits. */
function swapped(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  const diff = [...a].flatMap((c, i) => (c === b[i] ? [] : [i]));
  return diff.length === 2 && diff[1] === diff[0]! + 1 && a[diff[0]!] === b[diff[1]!] && a[diff[1]!] === b[diff[0]!];
}

/** A name from the database as a literal pattern (a region may hold any character). */
const literal = (w: string) => w.replace(/[-.*+?^${}()|[\]\\]/g, '\\$&');
const word = (w: string) => new RegExp(`(?:^|\\s)${literal(w)}(?=\\s|$)`);

function findSlots(text: string, vocabulary: Vocabulary): Slots {
  const when = readWhen(text, vocabulary.asOf);
  let rest = text;
  for (const said of when.said) rest = rest.replace(said, ' ');
  const slots: Slots = { stores: [], when };
  const storeList = /\b(?:stores?|shops?|locations?|branch(?:es)?|outlets?|str|st)\s+(?:no\s+|number\s+|num\s+|nr\s+)?(\d+)((?:\s*(?:and|&|or|\+|vs|versus)?\s+\d+)*)/g;
  for (const m of rest.matchAll(storeList)) slots.stores.push(Number(m[1]), ...(m[2]?.match(/\d+/g) ?? []).map(Number));
  rest = rest.replace(storeList, ' ');
  const dept = /\b(?:dept|depts|department|departments|dep|dpt|d)\s+(?:no\s+|number\s+|num\s+)?(\d+)/.exec(rest);
  if (dept) {
    slots.dept = Number(dept[1]);
    rest = rest.replace(dept[0], ' ');
  }
  const named = vocabulary.departments.find((d) => word(d.name.toLowerCase()).test(rest));
  if (slots.dept === undefined && named) slots.dept = named.id;
  // "western stores" is the West region too.
  slots.region = vocabulary.regions.find((r) => word(r.toLowerCase()).test(rest) || word(`${r.toLowerCase()}ern`).test(rest));
  slots.campaign =
    vocabulary.campaigns.find((c) => word(c).test(rest) || word(c.replace(/-/g, ' ')).test(rest)) ??
    /\b(?:campaign|promotion|promo)\s+(?:called\s+|named\s+)?([a-z0-9]+(?:-[a-z0-9]+)+)\b/.exec(rest)?.[1] ??
    /\b([a-z0-9]+(?:-[a-z0-9]+)+)\s+(?:campaign|promotion|promo)\b/.exec(rest)?.[1];
  const segment = /\b(?:segment|cluster|group)\s+(\d+)/.exec(rest);
  if (segment) {
    slots.segment = Number(segment[1]);
    rest = rest.replace(segment[0], ' ');
  }
  const version = /\b(?:version|v)\s*(\d+)\b/.exec(rest);
  if (version) {
    slots.version = Number(version[1]);
    rest = rest.replace(version[0], ' ');
  }
  const limit =
    /\b(?:top|best|worst|bottom|highest|lowest|first|leading|biggest|smallest|strongest|weakest)\s+(\d+)\b/.exec(rest) ??
    /\b(\d+)\s+(?:best|worst|top|bottom|biggest|smallest|highest|lowest|strongest|weakest|fastest|slowest|largest|leading)\b/.exec(rest) ??
    /\b(\d+)\s+(?:stores|departments|depts)\b/.exec(rest);
  if (limit) {
    slots.limit = Number(limit[1]);
    rest = rest.replace(limit[0], ' ');
  }
  // A number left alone is a store, as `/sales 5` reads it: "how did 5 do last week".
  const bare = rest.match(/(?:^|\s)(\d{1,5})(?=\s|$)/g);
  if (!slots.stores.length && bare?.length === 1) slots.stores.push(Number(bare[0].trim()));
  return slots;
}

/** The slot an option takes, judged from its definition: its name, type, aliases and description. */
function valueFor(o: OptionDef, slots: Slots, text: string): { value: string | number | undefined; slot?: string } {
  const names = [o.name, ...(o.aliases ?? [])];
  const { when } = slots;
  if (o.type === 'integer' && o.name === 'store') return { value: slots.stores.length === 1 ? slots.stores[0] : undefined, slot: 'store' };
  if (o.type === 'string' && o.name === 'stores') return { value: slots.stores.length ? slots.stores.join(',') : undefined, slot: 'store' };
  if (o.type === 'integer' && o.name === 'dept') return { value: slots.dept, slot: 'dept' };
  if (o.type === 'string' && o.name === 'region') return { value: slots.region, slot: 'region' };
  if (o.type === 'string' && o.pattern && o.name === 'name') return { value: slots.campaign, slot: 'campaign' };
  if (o.type === 'integer' && o.name === 'segment') return { value: slots.segment, slot: 'segment' };
  if (o.type === 'integer' && o.name === 'version') return { value: slots.version, slot: 'version' };
  if (o.type === 'integer' && names.some((n) => /^(week|weeks|horizon|window)$/.test(n))) {
    const ahead = /ahead/i.test(o.description);
    return { value: ahead ? (when.aheadWeeks ?? when.weeks) : (when.pastWeeks ?? when.weeks), slot: ahead ? 'ahead' : 'window' };
  }
  if (o.type === 'integer' && names.includes('n')) return { value: slots.limit, slot: 'limit' };
  if (o.type === 'date' && o.name === 'from') return { value: when.from, slot: 'dates' };
  if (o.type === 'date' && o.name === 'to') return { value: when.to, slot: 'dates' };
  if (o.type === 'choice') {
    const said = o.choices.find((c) => c !== o.default && [c, ...(CHOICE_WORDS[o.name]?.[c] ?? [])].some((w) => new RegExp(`\\b(?:${w})\\b`).test(text)));
    return { value: said, slot: o.name === 'holiday' ? 'holiday' : undefined };
  }
  return { value: undefined };
}

/** What a question said that matters: a command reading it and leaving one out loses score. */
function saidSlots(slots: Slots, text: string): Set<string> {
  const said = new Set<string>();
  if (slots.stores.length) said.add('store');
  if (slots.dept !== undefined) said.add('dept');
  if (slots.region) said.add('region');
  if (slots.campaign) said.add('campaign');
  if (slots.segment !== undefined) said.add('segment');
  if (slots.when.aheadWeeks !== undefined) said.add('ahead');
  if (slots.when.from !== undefined || slots.when.to !== undefined) said.add('dates');
  if (Object.values(CHOICE_WORDS.holiday!).flat().some((w) => new RegExp(`\\b(?:${w})\\b`).test(text))) said.add('holiday');
  return said;
}

/** What each said thing adds when a reading takes it: a named campaign is the question itself. */
const USED_GAIN: Record<string, number> = { campaign: 2.2 };
/** What each costs a reading that leaves it out: naming a store and getting a chain answer is worse than a lost date. */
const UNUSED_COST: Record<string, number> = { store: 1.5, dept: 1, region: 1.2, campaign: 2, segment: 1, ahead: 1.2, dates: 0.4, holiday: 1 };

function readAs(command: Command, slots: Slots, text: string, said: Set<string>): Reading {
  const intent = INTENTS[command.name]!;
  let score = intent.prior ?? 0;
  for (const c of intent.cues) if (c.re.test(text)) score += c.weight;
  // The command's own name said in words ("campaign impact", "markdown impact") says it outright.
  if (command.name.includes('-') && text.includes(command.name.replace(/-/g, ' '))) score += 3;
  const options: ParsedOptions = {};
  const used = new Set<string>();
  for (const o of command.options) {
    const { value, slot } = valueFor(o, slots, text);
    if (slot && (value !== undefined || (slot === 'dates' && used.has('dates')))) used.add(slot);
    if (value !== undefined) options[o.name] = value;
  }
  if (used.has('window') && slots.when.pastWeeks !== undefined) used.add('dates');
  for (const s of said) score += used.has(s) ? (USED_GAIN[s] ?? 0.4) : -(UNUSED_COST[s] ?? 0.5);
  const missing = command.options.filter((o) => o.required && options[o.name] === undefined).map((o) => o.name);
  score -= 1.5 * missing.length;
  const args = formatOptions(command, options);
  const region = slots.region && !used.has('region') ? slots.region : undefined;
  return { command: command.name, options, line: args ? `/${command.name} ${args}` : `/${command.name}`, score: Math.round(score * 100) / 100, missing, ...(region ? { region } : {}) };
}

/**
 * Every reading of a question, best first: the commands that read (INTENTS) scored on their
 * cue words and on how much of what was said they can take. The lines are not checked here:
 * they go through dispatch like any typed command, with its parser and access check.
 */
export function readQuestion(question: string, registry: CommandRegistry, vocabulary: Vocabulary): Reading[] {
  const text = normalise(question, vocabulary);
  const slots = findSlots(text, vocabulary);
  const said = saidSlots(slots, text);
  const readings: Reading[] = [];
  for (const name of Object.keys(INTENTS)) {
    const command = registry.get(name);
    if (!command) continue;
    readings.push(readAs(command, slots, text, said));
  }
  return readings.sort((a, b) => b.score - a.score);
}
