import { formatTerm } from './terms.js';

/* Human output of the CLI: one line per fact, result or event. `--json` prints the replies instead. */

interface FactLike {
  readonly predicate: string;
  readonly args: readonly unknown[];
  readonly negated?: boolean;
  readonly scope?: string | null;
  readonly derived?: boolean;
  readonly version?: number;
}

export function formatFact(fact: FactLike): string {
  const atom = `${fact.negated ? 'NOT ' : ''}${fact.predicate}(${fact.args.map(formatTerm).join(', ')})`;
  const where = fact.scope ? ` [${fact.scope}]` : '';
  return `${atom}${where}${fact.derived ? ' (derived)' : ''}`;
}

function formatBindings(bindings: Record<string, unknown> | undefined): string {
  const entries = Object.entries(bindings ?? {});
  return entries.length === 0 ? '' : entries.map(([name, value]) => `?${name} = ${formatTerm(value)}`).join(', ');
}

export function formatTold(reply: { told: number; facts: (FactLike & { version: number })[] }): string[] {
  return reply.facts.map((f) => `told ${formatFact(f)} v${f.version}`);
}

interface AskReply {
  readonly results: (FactLike & { bindings?: Record<string, unknown>; facts?: FactLike[] })[];
  readonly cursor?: string | null;
}

export function formatAsk(reply: AskReply): string[] {
  if (reply.results.length === 0) return ['no results'];
  const lines = reply.results.map((r) => {
    const bindings = formatBindings(r.bindings);
    const facts = r.facts ? r.facts.map(formatFact).join(', ') : formatFact(r);
    return bindings === '' ? facts : `${bindings}    ${facts}`;
  });
  if (reply.cursor) lines.push(`… more results (cursor ${reply.cursor})`);
  return lines;
}

export function formatScopes(reply: { details: { name: string; facts: number; base: string | null }[] }): string[] {
  const width = Math.max(5, ...reply.details.map((d) => d.name.length));
  return [
    `${'SCOPE'.padEnd(width)}  FACTS  BASE`,
    ...reply.details.map((d) => `${d.name.padEnd(width)}  ${String(d.facts).padStart(5)}  ${d.base ?? '-'}`),
  ];
}

interface Conflict {
  readonly predicate: string;
  readonly args: readonly unknown[];
  readonly source: FactLike | null;
  readonly target: FactLike | null;
}

const conflictLine = (c: Conflict) => `! ${formatFact({ predicate: c.predicate, args: c.args })}: ${c.source ? formatFact(c.source) : 'absent'} vs ${c.target ? formatFact(c.target) : 'absent'}`;

export function formatDiff(reply: { source: string; target: string; onlyInSource: FactLike[]; onlyInTarget: FactLike[]; inBoth: number; conflicts: Conflict[] }): string[] {
  return [
    ...reply.onlyInSource.map((f) => `+ ${formatFact(f)}`),
    ...reply.onlyInTarget.map((f) => `- ${formatFact(f)}`),
    ...reply.conflicts.map(conflictLine),
    `${reply.onlyInSource.length} only in ${reply.source}, ${reply.onlyInTarget.length} only in ${reply.target}, ${reply.inBoth} in both, ${reply.conflicts.length} conflicts`,
  ];
}

export function formatMerge(reply: { source: string; target: string; result: string; merged: number; conflictsResolved: number; strategy: string }): string[] {
  if (reply.result === 'up-to-date') return [`${reply.target} is up to date with ${reply.source}`];
  return [`merged ${reply.merged} change(s) from ${reply.source} into ${reply.target} (${reply.strategy}, ${reply.conflictsResolved} conflict(s) resolved)`];
}

export interface ChangeEvent {
  readonly seq: number;
  readonly time: number;
  readonly op: string;
  readonly actor: string | null;
  readonly target: string;
  readonly scope?: string | null;
  readonly details?: { facts?: FactLike[]; count?: number; source?: string; rule?: string };
}

const SHOWN_FACTS = 3;

/** One line per change: sequence, time, operation, what changed, who did it. */
export function formatEvent(event: ChangeEvent): string {
  const facts = event.details?.facts;
  let what: string;
  if (facts && facts.length > 0) {
    what = facts.slice(0, SHOWN_FACTS).map(formatFact).join(', ');
    if (facts.length > SHOWN_FACTS) what += ` … +${facts.length - SHOWN_FACTS} more`;
  } else if (event.details?.source) {
    what = `${event.details.source} -> ${event.target}`;
  } else {
    what = event.details?.rule ?? event.target;
  }
  const by = event.actor ? ` (by ${event.actor})` : '';
  return `#${event.seq} ${new Date(event.time).toISOString()} ${event.op} ${what}${by}`;
}

export function formatFacts(reply: { facts: FactLike[]; cursor: string | null }): string[] {
  const lines = reply.facts.map(formatFact);
  if (lines.length === 0) lines.push('no facts');
  if (reply.cursor) lines.push(`… more facts (--cursor ${reply.cursor})`);
  return lines;
}

export function formatPredicates(reply: { predicates: { name: string; arities: number[]; facts: number; rules: number }[] }): string[] {
  const width = Math.max(9, ...reply.predicates.map((p) => p.name.length));
  return [
    `${'PREDICATE'.padEnd(width)}  ARITY  FACTS  RULES`,
    ...reply.predicates.map((p) => `${p.name.padEnd(width)}  ${p.arities.join(',').padStart(5)}  ${String(p.facts).padStart(5)}  ${String(p.rules).padStart(5)}`),
  ];
}
