import { ruleKey, ruleRange } from '../encoding/control-keys.js';
import { decodeJson, encodeJson } from '../encoding/records.js';
import { ruleShape } from './record-shapes.js';
import { type KeyspaceReader, type LevelSublevel, scanRange } from './level-types.js';

/** A rule as persisted: its canonical text is the source of truth, parsed again at load. */
export interface RuleRecord {
  readonly id: string;
  readonly text: string;
  readonly scope: string | null;
  readonly createdAt: number;
}

/** Rules of one owner (a database's META sublevel, or a tenant's sublevel), in id order. */
export async function loadRules(sub: KeyspaceReader): Promise<RuleRecord[]> {
  const rules: RuleRecord[] = [];
  for await (const [key, value] of scanRange(sub, ruleRange())) rules.push(decodeJson(value, ruleShape, 'rule', key));
  return rules;
}

export function putRuleOp(sub: LevelSublevel, rule: RuleRecord) {
  return { type: 'put' as const, key: ruleKey(rule.id), value: encodeJson(rule), sublevel: sub };
}

export function delRuleOp(sub: LevelSublevel, id: string) {
  return { type: 'del' as const, key: ruleKey(id), sublevel: sub };
}
