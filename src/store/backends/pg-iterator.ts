import { AbstractIterator, AbstractKeyIterator, AbstractValueIterator } from 'abstract-level';
import type { PgSql } from './pg-client.js';
import { remote } from './pg-errors.js';
import { type KeyRange, type ResumePoint, keyOrder, pickRange, rangeCondition } from './pg-range.js';
import type { PgSnapshot } from './pg-snapshot.js';

/** What an iterator reads from: the table and the connection (the snapshot's, when one is given). */
export interface PgReadSource {
  readonly table: string;
  readonly sql: PgSql;
  connectionFor(snapshot: PgSnapshot | undefined): Promise<PgSql>;
}

/** The options abstract-level passes to _iterator/_keys/_values (keys encoded, limit -1 = none). */
export interface PgIteratorOptions extends KeyRange {
  readonly reverse: boolean;
  readonly limit: number;
  readonly snapshot?: PgSnapshot;
  readonly keyEncoding: string;
  readonly valueEncoding: string;
}

type Row = [Buffer, Buffer];

const FIRST_PAGE = 16;
const LARGEST_PAGE = 1024;
const LARGEST_NEXTV = 10_000;

/**
 * Keyset paging over one table: WHERE <range> AND k > <last key> ORDER BY k LIMIT n. Each page is
 * its own statement, so without an explicit snapshot a page sees the writes committed before it
 * (the database declares implicitSnapshots: false). Pages grow from 16 rows, so a next() that
 * wants one row does not pull a thousand.
 */
class PageReader {
  private rows: Row[] = [];
  private resume: ResumePoint | undefined;
  private exhausted = false;
  private pageSize = FIRST_PAGE;
  private readonly range: KeyRange;

  constructor(
    private readonly source: PgReadSource,
    private readonly options: PgIteratorOptions,
    private readonly withValues: boolean,
  ) {
    this.range = pickRange(options);
  }

  /** Up to `size` rows; none only at the end. `yielded` is how many the iterator has already given out (its limit counts them). */
  async take(size: number, yielded: number): Promise<Row[]> {
    if (this.rows.length === 0 && !this.exhausted) await this.fetch(size, yielded);
    return this.rows.splice(0, size);
  }

  seek(target: Buffer): void {
    this.rows = [];
    this.exhausted = false;
    this.resume = { key: target, inclusive: true };
  }

  private fetch(wanted: number, yielded: number): Promise<void> {
    return remote(async () => {
      const { limit, reverse } = this.options;
      let size = Math.max(Math.min(wanted, LARGEST_NEXTV), this.pageSize);
      if (limit !== -1) size = Math.min(size, limit - yielded);
      if (size <= 0) {
        this.exhausted = true;
        return;
      }
      this.pageSize = Math.min(this.pageSize * 2, LARGEST_PAGE);
      const sql = await this.source.connectionFor(this.options.snapshot);
      const where = rangeCondition(sql, this.range, reverse, this.resume);
      const columns = this.withValues ? sql`k, v` : sql`k, NULL AS v`;
      const found = await sql<{ k: Buffer; v: Buffer }[]>`SELECT ${columns} FROM ${sql(this.source.table)} WHERE ${where} ${keyOrder(sql, reverse)} LIMIT ${size}`;
      const rows = found.map((row): Row => [row.k, row.v]);
      const last = rows[rows.length - 1];
      if (last) this.resume = { key: last[0], inclusive: false };
      if (rows.length < size) this.exhausted = true;
      this.rows = rows;
    });
  }
}

export class PgEntryIterator extends AbstractIterator<PgReadSource, Buffer, Buffer> {
  private readonly reader: PageReader;

  constructor(source: PgReadSource, options: PgIteratorOptions) {
    super(source, options);
    this.reader = new PageReader(source, options, true);
  }

  async _next(): Promise<Row | undefined> {
    return (await this.reader.take(1, this.count))[0];
  }

  async _nextv(size: number): Promise<Row[]> {
    return this.reader.take(size, this.count);
  }

  async _all(): Promise<Row[]> {
    return drain((size, already) => this.reader.take(size, this.count + already));
  }

  _seek(target: Buffer): void {
    this.reader.seek(target);
  }
}

export class PgKeyIterator extends AbstractKeyIterator<PgReadSource, Buffer> {
  private readonly reader: PageReader;

  constructor(source: PgReadSource, options: PgIteratorOptions) {
    super(source, options);
    this.reader = new PageReader(source, options, false);
  }

  async _next(): Promise<Buffer | undefined> {
    return (await this.reader.take(1, this.count))[0]?.[0];
  }

  async _nextv(size: number): Promise<Buffer[]> {
    return (await this.reader.take(size, this.count)).map((row) => row[0]);
  }

  async _all(): Promise<Buffer[]> {
    return (await drain((size, already) => this.reader.take(size, this.count + already))).map((row) => row[0]);
  }

  _seek(target: Buffer): void {
    this.reader.seek(target);
  }
}

export class PgValueIterator extends AbstractValueIterator<PgReadSource, Buffer, Buffer> {
  private readonly reader: PageReader;

  constructor(source: PgReadSource, options: PgIteratorOptions) {
    super(source, options);
    this.reader = new PageReader(source, options, true);
  }

  async _next(): Promise<Buffer | undefined> {
    return (await this.reader.take(1, this.count))[0]?.[1];
  }

  async _nextv(size: number): Promise<Buffer[]> {
    return (await this.reader.take(size, this.count)).map((row) => row[1]);
  }

  async _all(): Promise<Buffer[]> {
    return (await drain((size, already) => this.reader.take(size, this.count + already))).map((row) => row[1]);
  }

  _seek(target: Buffer): void {
    this.reader.seek(target);
  }
}

/** Every remaining row, in pages of the largest size (abstract-level counts them only after _all returns). */
async function drain(take: (size: number, already: number) => Promise<Row[]>): Promise<Row[]> {
  const all: Row[] = [];
  for (;;) {
    const rows = await take(LARGEST_PAGE, all.length);
    if (rows.length === 0) return all;
    for (const row of rows) all.push(row);
  }
}
