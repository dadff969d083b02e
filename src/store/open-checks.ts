import { VesperError } from '../domain/errors.js';
import { FORMAT_VERSION_KEY, decodeRetiredLayerKey, retiredLayerRange } from '../encoding/control-keys.js';
import { FORMAT_VERSION, READABLE_FORMATS } from '../encoding/records.js';
import { KeyspaceReader, type LevelSublevel, SYNC, scanRange } from './level-types.js';
import type { TenantStore } from './tenant-store.js';
import type { RetiredLayer } from './transaction.js';

/*
 * What opening a database does before it serves (FactDatabase.open), besides reading its registry
 * and undoing the imports a crash left (pending-imports.ts).
 */

/** Record the format of a new database, or check (and move up) that of an existing one. */
export async function checkFormat(database: string, meta: LevelSublevel): Promise<void> {
  const stored = await meta.get(FORMAT_VERSION_KEY);
  if (stored === undefined) {
    await meta.put(FORMAT_VERSION_KEY, String(FORMAT_VERSION), SYNC);
  } else if (Number(stored) !== FORMAT_VERSION && READABLE_FORMATS.includes(Number(stored))) {
    // Every readable older format reads as it is (see records.ts): migrating is recording the new version.
    await meta.put(FORMAT_VERSION_KEY, String(FORMAT_VERSION), SYNC);
  } else if (Number(stored) !== FORMAT_VERSION) {
    throw new VesperError('INTERNAL_ERROR', `database '${database}' has format ${stored}, this server reads ${FORMAT_VERSION}`);
  }
}

/** Layers a crash left retired but not yet removed: nothing reads them now, collect them before serving. */
export async function collectJournaledLayers(meta: LevelSublevel, registered: (tenant: string) => boolean, tenantOf: (tenant: string) => TenantStore): Promise<void> {
  const byTenant = new Map<string, RetiredLayer[]>();
  for await (const [key, value] of scanRange(new KeyspaceReader(meta), retiredLayerRange())) {
    const { tenant, layer } = decodeRetiredLayerKey(key);
    byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), { layer, isRoot: value === 'root' }]);
  }
  for (const [tenant, layers] of byTenant) {
    if (registered(tenant)) await tenantOf(tenant).collect(layers);
    else await meta.clear(retiredLayerRange(tenant));
  }
}
