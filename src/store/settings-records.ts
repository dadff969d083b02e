import { z } from 'zod';
import { DATABASE_SETTINGS_KEY, tenantSettingsKey } from '../encoding/control-keys.js';
import { decodeJson, encodeJson } from '../encoding/records.js';
import type { BatchOp, KeyspaceReader, LevelSublevel } from './level-types.js';

/** Stored settings: setting name → value. The service checks each value again when it reads them (names may come and go between versions). */
export type SettingsRecord = Readonly<Record<string, unknown>>;

const settingsShape = z.record(z.string(), z.unknown());

/** `tenant` null: the database's own settings. */
function keyOf(tenant: string | null): string {
  return tenant === null ? DATABASE_SETTINGS_KEY : tenantSettingsKey(tenant);
}

export async function loadSettings(meta: KeyspaceReader, tenant: string | null): Promise<SettingsRecord> {
  const key = keyOf(tenant);
  const raw = await meta.get(key);
  return raw === undefined ? {} : decodeJson(raw, settingsShape, 'settings', key);
}

/** An empty record is no record. */
export function putSettingsOp(meta: LevelSublevel, tenant: string | null, settings: SettingsRecord): BatchOp {
  const key = keyOf(tenant);
  return Object.keys(settings).length === 0 ? { type: 'del', key, sublevel: meta } : { type: 'put', key, value: encodeJson(settings), sublevel: meta };
}
