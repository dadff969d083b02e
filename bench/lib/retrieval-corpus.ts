import { mulberry32 as prng } from './random.js';
/**
 * Labelled retrieval corpora for bench/retrieval.ts: three synthetic but realistic tenants
 * (support desk, sales CRM, engineering incidents), deterministic from a seed.
 *
 * Each domain crosses subjects (a product area, an account, a service) with problems or events.
 * A labelled query names one (subject, event) pair in the words an agent would use (other word
 * forms, sometimes one misspelt word); its relevant facts are the 4–6 facts written about that
 * pair (a ticket or deal, notes, a runbook or next step…). Distractors share one of the two:
 * the same subject with other events, the same event on other subjects, plus generic facts of
 * the domain. So neither a single word nor recency can find the relevant facts; the pair can.
 */

export interface Fact {
  readonly predicate: string;
  readonly args: (string | number)[];
  readonly confidence?: number;
  readonly metadata?: Record<string, string>;
}

export interface LabelledQuery {
  readonly text: string;
  /** Canonical labels `predicate(args…)` of the relevant facts. */
  readonly relevant: readonly string[];
}

export interface Corpus {
  readonly name: string;
  readonly facts: Fact[];
  readonly queries: LabelledQuery[];
}

export const label = (f: { predicate: string; args: readonly unknown[] }) => `${f.predicate}(${f.args.join(', ')})`;

interface Domain {
  readonly name: string;
  /** [canonical phrase, phrase as an agent asks] */
  readonly subjects: readonly (readonly [string, string])[];
  readonly events: readonly (readonly [string, string])[];
  /** The facts about one (subject, event) pair: `id` is unique per pair and copy. */
  pairFacts(id: string, subject: string, event: string, pick: <T>(xs: readonly T[]) => T): Fact[];
  /** Generic facts of the domain that mention neither. */
  noise(i: number, pick: <T>(xs: readonly T[]) => T): Fact;
  readonly askPrefixes: readonly string[];
}

const CUSTOMERS = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark', 'wayne', 'tyrell', 'cyberdyne', 'soylent', 'wonka', 'gringotts'];
const PEOPLE = ['ann', 'bob', 'chen', 'dara', 'eli', 'fatima', 'gus', 'hana', 'ivan', 'jo'];

const support: Domain = {
  name: 'support desk',
  subjects: [
    ['invoice', 'invoices'], ['password reset', 'password resets'], ['single sign-on', 'SSO sign-in'], ['mobile app', 'mobile application'],
    ['data export', 'CSV exports'], ['webhook delivery', 'webhooks'], ['two-factor authentication', '2FA'], ['billing address', 'billing addresses'],
    ['user invitation', 'invited users'], ['calendar sync', 'calendar syncing'], ['search index', 'search results'], ['audit log', 'audit logs'],
    ['API token', 'API tokens'], ['dashboard chart', 'dashboard charts'], ['email notification', 'notification emails'],
  ],
  events: [
    ['charged twice', 'double charged'], ['not arriving', 'never arrives'], ['times out', 'timing out'], ['shows wrong currency', 'wrong currency shown'],
    ['crashes on start', 'crashing at startup'], ['missing rows', 'rows missing'], ['stuck pending', 'stays pending'], ['rejected as invalid', 'invalid rejection'],
    ['duplicated entries', 'duplicate entries'], ['slow to load', 'loading slowly'],
  ],
  pairFacts(id, subject, event, pick): Fact[] {
    const customer = pick(CUSTOMERS);
    const agent = pick(PEOPLE);
    return [
      { predicate: 'ticket', args: [`T-${id}`, customer, 'open'], metadata: { subject: `${subject} ${event}` } },
      { predicate: 'ticket_note', args: [`T-${id}`, `customer reports the ${subject} ${event} since Monday`] },
      { predicate: 'assigned', args: [`T-${id}`, agent], metadata: { reason: `${subject} specialist; ${event}` } },
      { predicate: 'known_issue', args: [`KI-${id}`, `${subject}: ${event}`], metadata: { workaround: `retry the ${subject} after clearing cache` } },
      { predicate: 'macro', args: [`M-${id}`, `reply template for ${subject} ${event}`] },
    ];
  },
  noise(i, pick): Fact {
    const kinds: Fact[] = [
      { predicate: 'customer', args: [`${pick(CUSTOMERS)}-${i}`], metadata: { tier: pick(['free', 'pro', 'enterprise']) } },
      { predicate: 'ticket', args: [`T-n${i}`, pick(CUSTOMERS), pick(['open', 'closed', 'resolved'])], metadata: { subject: pick(['question about pricing', 'feature request', 'thank you note', 'account closure', 'training session']) } },
      { predicate: 'csat', args: [`T-s${i}`, Math.floor(i % 5) + 1] },
      { predicate: 'shift', args: [pick(PEOPLE), `day-${i}`] },
    ];
    return pick(kinds);
  },
  askPrefixes: ['what do we know about', 'customer says', 'help with', 'any workaround for', ''],
};

const crm: Domain = {
  name: 'sales CRM',
  subjects: [
    ['enterprise renewal', 'enterprise renewals'], ['security questionnaire', 'security review'], ['pilot project', 'pilots'], ['volume discount', 'volume discounts'],
    ['procurement contract', 'procurement'], ['data residency', 'EU data residency'], ['onboarding plan', 'onboarding'], ['seat expansion', 'more seats'],
    ['reseller agreement', 'resellers'], ['pricing proposal', 'pricing proposals'], ['executive sponsor', 'exec sponsors'], ['competitor evaluation', 'competitors'],
    ['legal redlines', 'legal redline'], ['budget approval', 'approved budget'], ['integration requirement', 'integrations'],
  ],
  events: [
    ['blocked by legal', 'legal blocker'], ['slipped to next quarter', 'slipping quarter'], ['champion left', 'lost champion'], ['asked for references', 'reference request'],
    ['requested a discount', 'discount requested'], ['signed verbally', 'verbal signature'], ['needs SOC2 report', 'SOC2 reports'], ['went silent', 'silence'],
    ['expanded scope', 'scope expansion'], ['price objection', 'objecting to price'],
  ],
  pairFacts(id, subject, event, pick): Fact[] {
    const account = pick(CUSTOMERS);
    const rep = pick(PEOPLE);
    return [
      { predicate: 'deal', args: [`D-${id}`, account, pick(['discovery', 'proposal', 'negotiation'])], metadata: { topic: subject } },
      { predicate: 'deal_update', args: [`D-${id}`, `${subject}: ${event}`], metadata: { by: rep } },
      { predicate: 'next_step', args: [`D-${id}`, `follow up on ${subject} because it ${event}`] },
      { predicate: 'risk', args: [`D-${id}`, `${event}`], metadata: { area: subject } },
      { predicate: 'call_note', args: [`C-${id}`, account, `discussed ${subject}; ${event}`] },
    ];
  },
  noise(i, pick): Fact {
    const kinds: Fact[] = [
      { predicate: 'contact', args: [`${pick(PEOPLE)}-${i}`, pick(CUSTOMERS)], metadata: { role: pick(['cfo', 'cto', 'buyer', 'engineer']) } },
      { predicate: 'deal', args: [`D-n${i}`, pick(CUSTOMERS), pick(['won', 'lost', 'discovery'])], metadata: { topic: pick(['starter plan', 'upgrade', 'trial extension', 'webinar lead']) } },
      { predicate: 'activity', args: [`A-${i}`, pick(['email', 'call', 'meeting']), pick(PEOPLE)] },
      { predicate: 'quota', args: [pick(PEOPLE), `q${(i % 4) + 1}-${i}`, 100000 + (i % 7) * 5000] },
    ];
    return pick(kinds);
  },
  askPrefixes: ['status of the', 'what happened with', 'which deals have', 'prepare for call:', ''],
};

const incidents: Domain = {
  name: 'engineering incidents',
  subjects: [
    ['billing service', 'billing'], ['payment gateway', 'payments gateway'], ['login service', 'logins'], ['search cluster', 'search'], ['message queue', 'queues'],
    ['primary database', 'database primary'], ['CDN edge', 'edge caching'], ['image resizer', 'image resizing'], ['notification worker', 'notifications'],
    ['feature flag service', 'feature flags'], ['DNS resolver', 'DNS'], ['object storage', 'storage buckets'], ['rate limiter', 'rate limiting'],
    ['report generator', 'reports'], ['session store', 'sessions'],
  ],
  events: [
    ['outage', 'outages'], ['latency spike', 'high latency'], ['memory leak', 'leaking memory'], ['certificate expired', 'expired certificates'],
    ['disk full', 'full disks'], ['deploy rollback', 'rolled back deploy'], ['connection pool exhausted', 'exhausted connections'],
    ['data corruption', 'corrupted data'], ['replication lag', 'lagging replicas'], ['error rate increase', 'rising errors'],
  ],
  pairFacts(id, subject, event, pick): Fact[] {
    const oncall = pick(PEOPLE);
    const service = subject.replaceAll(' ', '_');
    const kind = event.replaceAll(' ', '-');
    return [
      { predicate: 'incident', args: [`INC-${id}`, `${service}_${kind}`], metadata: { severity: pick(['sev1', 'sev2', 'sev3']) } },
      { predicate: 'timeline', args: [`INC-${id}`, `paged ${oncall} for ${subject} ${event}`] },
      { predicate: 'root_cause', args: [`INC-${id}`, `${event} in the ${subject}`] },
      { predicate: 'runbook', args: [`RB-${id}`, service], metadata: { title: `mitigate ${event} on ${subject}` } },
      { predicate: 'postmortem_action', args: [`PA-${id}`, `add alerting for ${subject} ${event}`] },
    ];
  },
  noise(i, pick): Fact {
    const kinds: Fact[] = [
      { predicate: 'deploy', args: [`dep-${i}`, pick(['api', 'web', 'worker', 'cron']), pick(['ok', 'ok', 'failed'])] },
      { predicate: 'oncall', args: [pick(PEOPLE), `week-${i}`] },
      { predicate: 'alert', args: [`AL-${i}`, pick(['cpu high', 'pod restarted', 'certificate renewal due', 'backup finished'])] },
      { predicate: 'change_request', args: [`CR-${i}`, pick(['upgrade kernel', 'rotate keys', 'resize cluster', 'patch libraries'])] },
    ];
    return pick(kinds);
  },
  askPrefixes: ['what do we know about the', 'any previous', 'how did we fix', 'history of', ''],
};

export const DOMAINS: readonly Domain[] = [support, crm, incidents];

/** One misspelling: drop a middle letter of the longest word (what a hurried agent types). */
function misspell(text: string): string {
  const words = text.split(' ');
  let at = 0;
  words.forEach((w, i) => {
    if (w.length > (words[at] ?? '').length) at = i;
  });
  const w = words[at] ?? '';
  if (w.length < 6) return text;
  const cut = Math.floor(w.length / 2);
  words[at] = w.slice(0, cut) + w.slice(cut + 1);
  return words.join(' ');
}

/**
 * A corpus of about `size` facts: `queries` labelled pairs (one query each), every other pair of
 * the domain written once too (distractors), and generic noise facts up to the size.
 */
export function buildCorpus(domain: Domain, size: number, queries: number, seed: number): Corpus {
  const random = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const pairs: [number, number][] = [];
  for (let s = 0; s < domain.subjects.length; s++) for (let e = 0; e < domain.events.length; e++) pairs.push([s, e]);
  for (let i = pairs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [pairs[i], pairs[j]] = [pairs[j] as [number, number], pairs[i] as [number, number]];
  }
  const facts: Fact[] = [];
  const labelled: LabelledQuery[] = [];
  pairs.forEach(([s, e], n) => {
    const [subject, asked] = domain.subjects[s] as readonly [string, string];
    const [event, eventAsked] = domain.events[e] as readonly [string, string];
    const written = domain.pairFacts(String(n), subject, event, pick);
    facts.push(...written);
    if (n < queries) {
      const base = `${pick(domain.askPrefixes)} ${asked} ${eventAsked}`.trim();
      labelled.push({ text: n % 4 === 3 ? misspell(base) : base, relevant: written.map(label) });
    }
  });
  for (let i = 0; facts.length < size; i++) facts.push(domain.noise(i, pick));
  // Told in a shuffled order: recency says nothing about relevance.
  for (let i = facts.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [facts[i], facts[j]] = [facts[j] as Fact, facts[i] as Fact];
  }
  return { name: domain.name, facts: dedupe(facts), queries: labelled };
}

function dedupe(facts: Fact[]): Fact[] {
  const seen = new Set<string>();
  return facts.filter((f) => {
    const key = JSON.stringify([f.predicate, f.args]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The deterministic embedding of a text (the "vector" signal of the bench): hashed character
 * trigrams of each lower-cased word padded with '#', FNV-1a 32-bit hash modulo `dims` with a sign
 * from the hash's top bit, L2-normalised. Needs no model and tolerates misspellings and word forms.
 */
export function hashedEmbedding(text: string, dims: number): number[] {
  const v = new Float64Array(dims);
  for (const word of text.toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
    if (word.length === 0) continue;
    const padded = `#${word}#`;
    for (let i = 0; i + 3 <= padded.length; i++) {
      let h = 0x811c9dc5;
      for (let j = i; j < i + 3; j++) h = Math.imul(h ^ padded.charCodeAt(j), 0x01000193) >>> 0;
      v[h % dims] = (v[h % dims] as number) + (h & 0x80000000 ? -1 : 1);
    }
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  return Array.from(v, (x) => Math.round((x / norm) * 1e6) / 1e6);
}

/** The text of a fact that its embedding is computed from: predicate, string args, metadata values. */
export function factText(f: Fact): string {
  return [f.predicate.replaceAll('_', ' '), ...f.args.filter((a): a is string => typeof a === 'string'), ...Object.values(f.metadata ?? {})].join(' ');
}
