import type { PgSql } from './pg-client.js';

/** The range options abstract-level hands to private methods, keys already encoded to Buffers. */
export interface KeyRange {
  readonly gt?: Buffer;
  readonly gte?: Buffer;
  readonly lt?: Buffer;
  readonly lte?: Buffer;
}

/** Where a paged read resumes: at `key` itself (after a seek) or just past it (after a page). */
export interface ResumePoint {
  readonly key: Buffer;
  readonly inclusive: boolean;
}

type Fragment = ReturnType<PgSql>;

/**
 * The WHERE clause of a range read in key order: gte wins over gt and lte over lt (abstract-level's
 * rule); `resume` continues a keyset page (k > last, or k < last in reverse) so no page ever
 * re-reads or skips a row whatever the writes in between. bytea compares like Buffer.compare.
 */
export function rangeCondition(sql: PgSql, range: KeyRange, reverse = false, resume?: ResumePoint): Fragment {
  const conditions: Fragment[] = [];
  if (range.gte !== undefined) conditions.push(sql`k >= ${range.gte}`);
  else if (range.gt !== undefined) conditions.push(sql`k > ${range.gt}`);
  if (range.lte !== undefined) conditions.push(sql`k <= ${range.lte}`);
  else if (range.lt !== undefined) conditions.push(sql`k < ${range.lt}`);
  if (resume) {
    if (reverse) conditions.push(resume.inclusive ? sql`k <= ${resume.key}` : sql`k < ${resume.key}`);
    else conditions.push(resume.inclusive ? sql`k >= ${resume.key}` : sql`k > ${resume.key}`);
  }
  if (conditions.length === 0) return sql`TRUE`;
  return conditions.reduce((all, condition) => sql`${all} AND ${condition}`);
}

export function keyOrder(sql: PgSql, reverse: boolean): Fragment {
  return reverse ? sql`ORDER BY k DESC` : sql`ORDER BY k`;
}

/** The range options of an abstract-level options object, with nothing else. */
export function pickRange(options: KeyRange): KeyRange {
  const range: { gt?: Buffer; gte?: Buffer; lt?: Buffer; lte?: Buffer } = {};
  if (options.gt !== undefined) range.gt = options.gt;
  if (options.gte !== undefined) range.gte = options.gte;
  if (options.lt !== undefined) range.lt = options.lt;
  if (options.lte !== undefined) range.lte = options.lte;
  return range;
}
