/**
 * The words that point at each command. The options and their values come from the
 * commands' own definitions (read.ts); what cannot be read from a definition is how people
 * ask, so that is written here: per command, phrases with a weight (3 says it outright,
 * 2 points at it, 1 hints), and a small prior for the commands a bare "store 5?" means.
 *
 * Only commands that read are here: a plain question never creates, deletes or grants.
 */
export interface Cue {
  re: RegExp;
  weight: number;
}

// A cue word also matches its plain inflections: "forecast" finds "forecasted", "promo" "promos".
const cue = (weight: number, ...patterns: string[]): Cue[] => patterns.map((p) => ({ re: new RegExp(`\\b(?:${p})(?:s|es|ed|d|ing)?\\b`), weight }));

export const INTENTS: Record<string, { prior?: number; cues: Cue[] }> = {
  sales: {
    prior: 0.6,
    cues: [
      ...cue(3, 'sales history', 'how (?:did|has|have|was|were)\\b.*\\b(?:do|doing|done|perform|performed|go|going|fare|fared|been)', 'how much did', 'how much (?:was|were) sold', 'sold'),
      ...cue(1.5, 'sales'),
      ...cue(2, 'revenue', 'takings', 'turnover', 'earn(?:ed|ings)?', 'made', 'make', 'take in', 'took in', 'bring in', 'brought in', 'performance', 'perform(?:ed|ing)?', 'history', 'numbers', 'figures', 'results?', 'year over year', 'yoy', 'trend', 'how is', 'how are', 'hows', 'how was', 'doing', 'did\\b.*\\bsell'),
      ...cue(1.5, 'how (?:many|much)'),
      ...cue(2, 'dollars'),
      ...cue(1.5, 'good', 'bad', 'great', 'poor', 'well', 'badly', 'strong', 'weak', 'tracking', 'beat', 'recap'),
      ...cue(1, 'weekly', 'show me', 'total'),
    ],
  },
  forecast: {
    prior: 0.2,
    cues: [
      ...cue(3, 'forecasts?', 'forecasting', 'predict(?:ion|ions|ed)?', 'projections?', 'project(?:ed)?', 'outlook', 'will\\b.*\\bsell', 'should\\b.*\\bsell', 'going to sell', 'gonna sell', 'expected sales', 'expect(?:ed)?'),
      ...cue(3, 'future', 'upcoming'),
      ...cue(2, 'will', 'ahead', 'estimate[sd]?', 'anticipate[sd]?', 'likely', 'next'),
    ],
  },
  stock: {
    prior: 0.1,
    cues: [
      ...cue(3, 'stock', 'stocks', 'inventory', 'low on', 'run(?:ning)? out', 'runs out', 'out of stock', 'stock ?outs?', 'reorder(?:ing)?', 're-order', 'replenish(?:ment)?', 'on hand', 'restock(?:ing)?'),
      ...cue(2, 'low', 'cover', 'shelves', 'supply', 'short(?:age)?', 'order more'),
    ],
  },
  top: {
    cues: [
      ...cue(3, 'top', 'best', 'worst', 'rank(?:ed|ing|ings)?', 'leaderboard', 'bottom', 'highest', 'lowest', 'biggest', 'smallest', 'strongest', 'weakest', 'fastest', 'slowest', 'leading', 'lagging', 'underperform(?:ing|ers)?', 'outperform(?:ing|ers)?'),
      ...cue(2, 'which stores', 'which departments', 'which depts', 'what stores', 'most', 'least', 'growing', 'growth', 'grew', 'declin(?:e|ing)', 'shrinking'),
    ],
  },
  'holiday-impact': {
    cues: [
      ...cue(3, 'holidays?', 'christmas', 'xmas', 'x-mas', 'thanksgiving', 'black friday', 'super-bowl', 'superbowl', 'labor-day', 'festive', 'holiday season'),
      ...cue(1, 'lift', 'impact', 'effect', 'uplift', 'bump', 'boost'),
    ],
  },
  'campaign-impact': {
    cues: [
      ...cue(3, 'campaign', 'promotion', 'promo', 'did\\b.*\\bwork', 'pay off', 'paid off', 'worth it', 'succeed(?:ed)?', 'successful'),
      ...cue(1, 'lift', 'impact', 'effect', 'uplift', 'work', 'worked', 'working', 'measure', 'results?', 'move the needle'),
    ],
  },
  'markdown-impact': {
    cues: [
      ...cue(3, 'markdowns?', 'mark-?downs?', 'discounts?', 'discounting', 'price cuts?', 'clearance', 'reductions?'),
      ...cue(1, 'lift', 'impact', 'effect', 'uplift', 'work'),
    ],
  },
  drivers: {
    cues: [
      ...cue(3, 'drivers?', 'drive', 'drives', 'driving', 'what moves', 'moves sales', 'what affects', 'affect(?:s|ed)?', 'influence[sd]?', 'factors?', 'explains?', 'correlat(?:e|es|ed|ion)', 'why'),
      ...cue(2, 'hurt', 'hurting'),
      ...cue(1.5, 'temperature', 'weather', 'fuel', 'gas prices?', 'cpi', 'inflation', 'unemployment'),
      ...cue(1, 'effect', 'impact', 'matter'),
    ],
  },
  segments: {
    cues: [...cue(3, 'segments', 'segmented', 'segmentation', 'clusters?', 'groups of stores', 'store groups', 'similar', 'alike', 'kinds of stores', 'types of stores', 'store types', 'grouped', 'groups', 'group stores', 'similarity')],
  },
  campaigns: {
    cues: [...cue(3, 'campaigns', 'promotions', 'promos', 'list (?:of )?campaigns'), ...cue(1, 'running', 'ran', 'list', 'which', 'what')],
  },
  alerts: {
    cues: [...cue(3, 'alerts', 'my alerts', 'alarms', 'notifications'), ...cue(1, 'my', 'set up', 'have')],
  },
  subscriptions: {
    cues: [...cue(3, 'subscriptions', 'subscribed', 'subscribe', 'signed up', 'sign up', 'summary', 'summaries', 'digests?'), ...cue(2, 'reports?', 'every week', 'each week', 'every monday'), ...cue(1, 'my', 'get')],
  },
  model: {
    cues: [...cue(3, 'model', 'accuracy', 'accurate', 'wmae', 'how good (?:is|are)', 'reliable', 'error rate', 'trust'), ...cue(1, 'version')],
  },
  help: {
    cues: [...cue(3, 'help', 'what can \\w+ do', 'what can i ask', 'what should i ask', 'what do you do', 'how do i', 'how does this work', 'commands', 'usage', 'what do you know'), ...cue(2, 'hello', 'hi', 'hey', 'thanks?', 'thank you')],
  },
};

/**
 * Values of choice options said in other words: `order bottom` is "worst", `by growth` is
 * "growing". Keyed by option name, then choice; the choice itself always counts too.
 */
export const CHOICE_WORDS: Record<string, Record<string, string[]>> = {
  order: { bottom: ['worst', 'bottom', 'lowest', 'weakest', 'least', 'poorest', 'slowest', 'underperform(?:ing|ers)?', 'lagging', 'smallest', 'declin(?:e|ing)', 'shrinking', 'struggling'] },
  by: { growth: ['growth', 'growing', 'grew', 'grown', 'improv(?:ed|ing)', 'fastest', 'slowest', 'gain(?:ed|ing)?', 'declin(?:e|ing)', 'shrinking', 'trending'] },
  of: { depts: ['departments?', 'depts?'] },
  holiday: {
    christmas: ['christmas', 'xmas', 'x-mas', 'festive'],
    thanksgiving: ['thanksgiving', 'black friday', 'turkey'],
    'super-bowl': ['super-bowl', 'superbowl'],
    'labor-day': ['labor-day', 'labour-day'],
  },
  action: { retrain: [] },
};

/** Words worth correcting a typo towards (the cues, option words, calendar words). */
export const KNOWN_WORDS = [
  'forecast', 'predict', 'prediction', 'projection', 'sales', 'sold', 'revenue', 'store', 'stores', 'department', 'departments', 'dept',
  'stock', 'inventory', 'reorder', 'holiday', 'holidays', 'christmas', 'thanksgiving', 'campaign', 'campaigns', 'promotion', 'markdown',
  'markdowns', 'discount', 'discounts', 'drivers', 'temperature', 'unemployment', 'weather', 'segment', 'segments', 'clusters', 'week', 'weeks',
  'month', 'months', 'quarter', 'year', 'last', 'next', 'previous', 'worst', 'best', 'bottom', 'lowest', 'highest', 'growth', 'growing', 'region',
  'performance', 'perform', 'performed', 'doing', 'accuracy', 'accurate', 'model', 'alerts', 'subscriptions', 'ranking', 'weakest', 'strongest',
  'running', 'expected', 'upcoming', 'coming', 'future', 'history', 'since', 'between', 'until', 'january', 'february', 'march', 'april',
  'june', 'july', 'august', 'september', 'october', 'november', 'december', 'labor', 'super', 'bowl', 'black', 'friday', 'weekly', 'impact',
  'effect', 'compare', 'biggest', 'fastest', 'slowest', 'clearance', 'shortage', 'replenish', 'ahead', 'outlook', 'estimate', 'leaderboard',
  'successful', 'worked', 'similar', 'accurate', 'predicted', 'markdowns', 'department', 'holidays',
];
