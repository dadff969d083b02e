import type { SearchBody } from '../../contract/search.js';
import type { Catalog } from '../../store/catalog.js';
import type { TenantAddress } from '../address.js';
import type { Clock } from '../clock.js';
import type { Scored } from './relevance.js';
import { type DimensionsOf, checkEmbeddings } from './dimensions.js';
import { pastTextSearch } from './past-search.js';
import { relevantFacts } from './retrieval.js';
import { ValidationError } from '../../domain/errors.js';
import { pastMoment } from '../time.js';

/** `POST /search`: the facts of a tenant most relevant to a text and/or a vector. */
export class SearchService {
  constructor(
    private readonly catalog: Catalog,
    private readonly clock: Clock,
    private readonly dimensionsOf: DimensionsOf,
  ) {}

  async search(address: TenantAddress, body: SearchBody): Promise<Scored[]> {
    if (body.queryEmbedding) await checkEmbeddings(this.dimensionsOf, address, [{ field: 'queryEmbedding', vector: body.queryEmbedding }]);
    const now = this.clock();
    const asOf = body.asOf === undefined ? undefined : pastMoment(body.asOf, now, 'asOf');
    if (asOf !== undefined && body.queryEmbedding) throw new ValidationError('asOf searches by text only: past embeddings are not kept', { field: 'asOf' });
    await using lease = await this.catalog.forRead(address.database);
    const database = lease.database;
    if (!database.hasTenant(address.tenant)) return [];
    const tenant = database.tenant(address.tenant);
    if (asOf === undefined) await tenant.ensureRetrievalIndex(now);
    return tenant.read(now, async (reads) => {
      const view = reads.view(body.scope ?? null);
      if (view === null) return [];
      if (asOf !== undefined) return (await pastTextSearch(reads, view, body.query ?? '', asOf, body.limit)).filter((s) => s.relevance > 0);
      return (await relevantFacts(reads, view, body, now, body.limit)).filter((s) => s.relevance > 0).slice(0, body.limit);
    });
  }
}
