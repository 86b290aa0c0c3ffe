// Copies the source into the shared ledger's records table, so workers claim records from
// the database rather than each reading the source. One worker at a time loads — whoever
// holds the job's loader advisory lock, which the server frees when that worker's session
// ends (a SIGKILL included) — in pages, each page and the loader's resume point committed
// together, so a loader that dies is replaced by another worker that carries on after the
// last page. Workers claim what is loaded while loading goes on.
import type { Pool, PoolClient } from 'pg';
import type { RecordSource, ResumeCursor, SourceItem } from '../sources/source';
import type { SharedTables } from './sharedSchema';

export type LoadOutcome = 'loaded' | 'busy' | 'stopped';

const pageRows = 500;

// jsonb holds neither U+0000 nor BigInt: the first becomes U+FFFD, the second decimal text.
const fieldsJson = (fields: Record<string, unknown>) =>
  JSON.stringify(fields, (_name, value: unknown) => {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'string') return value.replaceAll('\u0000', '\uFFFD');
    return value;
  });

export class LedgerLoader {
  constructor(
    private readonly pool: Pool,
    private readonly tables: SharedTables,
    private readonly job: string,
  ) {}

  /** Loads whatever is left when this worker can take the loader's lock; `busy` when another holds it. */
  async load(openSource: () => Promise<RecordSource>, signal: AbortSignal): Promise<LoadOutcome> {
    const client = await this.pool.connect();
    const ignore = () => undefined;
    client.on('error', ignore);
    let broken = false;
    try {
      const lock = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [this.lockName]);
      if (!lock.rows[0]?.locked) return 'busy';
      try {
        return await this.loadLocked(client, openSource, signal);
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [this.lockName]);
      }
    } catch (error) {
      broken = true;
      throw error;
    } finally {
      client.removeListener('error', ignore);
      client.release(broken);
    }
  }

  private get lockName(): string {
    return `drover loader ${this.tables.records} ${this.job}`;
  }

  private async loadLocked(client: PoolClient, openSource: () => Promise<RecordSource>, signal: AbortSignal): Promise<LoadOutcome> {
    const state = await client.query<{ loaded: boolean; loader_cursor: ResumeCursor | null }>(
      `SELECT loaded, loader_cursor FROM ${this.tables.jobs} WHERE name = $1`,
      [this.job],
    );
    const row = state.rows[0];
    if (!row || row.loaded) return 'loaded';
    const source = await openSource();
    try {
      let page: SourceItem[] = [];
      for await (const item of source.read({ ...(row.loader_cursor ? { after: row.loader_cursor } : {}), signal })) {
        page.push(item);
        if (page.length >= pageRows) {
          await this.writePage(client, page);
          page = [];
        }
        if (signal.aborted) break;
      }
      await this.writePage(client, page);
      if (signal.aborted) return 'stopped';
      await client.query(
        `UPDATE ${this.tables.jobs} SET loaded = true, updated_at = now(),
                total = (SELECT count(*) FROM ${this.tables.records} WHERE job = $1)
          WHERE name = $1`,
        [this.job],
      );
      return 'loaded';
    } finally {
      await source.close().catch(() => undefined);
    }
  }

  /** One page and the resume point after it, in one transaction; a page loaded twice adds nothing. */
  private async writePage(client: PoolClient, page: readonly SourceItem[]): Promise<void> {
    const last = page.at(-1);
    if (!last) return;
    await client.query('BEGIN');
    try {
      await client.query(
        `INSERT INTO ${this.tables.records} (job, key, ordinal, fields, malformed)
         SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::jsonb[], $5::text[])
         ON CONFLICT (job, key) DO NOTHING`,
        [
          this.job,
          page.map((item) => item.key.replaceAll('\u0000', '\uFFFD')),
          page.map((item) => item.ordinal),
          page.map((item) => (item.kind === 'record' ? fieldsJson(item.fields) : null)),
          page.map((item) => (item.kind === 'malformed' ? item.reason.replaceAll('\u0000', '\uFFFD') : null)),
        ],
      );
      await client.query(`UPDATE ${this.tables.jobs} SET loader_cursor = $2, updated_at = now() WHERE name = $1`, [this.job, JSON.stringify(last.cursor)]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
}
