import { ConflictError, ValidationError } from '../../domain/errors.js';
import type { Catalog } from '../../store/catalog.js';
import type { TenantAddress } from '../address.js';

/** The database's `embeddingDimensions` setting (null: not declared). */
export type DimensionsOf = (database: string, tenant: string) => Promise<number | null>;

/**
 * A vector sent with a fact or a query must have the database's declared length (JSON and the
 * schema already keep out non-finite values). A database that declared none takes no vectors:
 * without a declared length, a typo'd model would silently give similarities of zero.
 */
export async function checkEmbeddings(dimensionsOf: DimensionsOf, address: TenantAddress, vectors: readonly { field: string; vector: readonly number[] }[]): Promise<void> {
  if (vectors.length === 0) return;
  const expected = await dimensionsOf(address.database, address.tenant);
  for (const { field, vector } of vectors) {
    if (expected === null) {
      throw new ValidationError(`${field}: database '${address.database}' declares no embeddingDimensions (PUT /admin/databases/${address.database}/settings {"embeddingDimensions": N} first)`, { field });
    }
    if (vector.length !== expected) {
      throw new ValidationError(`${field} has ${vector.length} dimensions; database '${address.database}' declares embeddingDimensions ${expected}`, { field, expected, got: vector.length });
    }
  }
}

/**
 * Settings guard: a database's embeddingDimensions is fixed once one of its tenants holds an
 * embedding (the stored vectors would no longer compare with new ones). Delete or re-tell them first.
 */
export function embeddingDimensionsGuard(catalog: Catalog, clock: () => number) {
  return async (database: string, tenant: string | null, next: { embeddingDimensions?: number | null }, previous: { embeddingDimensions?: number | null }): Promise<void> => {
    if (tenant !== null || (next.embeddingDimensions ?? null) === (previous.embeddingDimensions ?? null)) return;
    if ((previous.embeddingDimensions ?? null) === null) return;
    await using lease = await catalog.forRead(database);
    for (const name of lease.database.listTenants()) {
      const held = await lease.database.tenant(name).read(clock(), (reads) => reads.hasEmbeddings());
      if (held) {
        throw new ConflictError(`embeddingDimensions cannot change: tenant '${name}' of database '${database}' holds embeddings`, { setting: 'embeddingDimensions', tenant: name });
      }
    }
  };
}
