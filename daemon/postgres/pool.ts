// Checking connections out and back in so that a connection which dies while we hold it is
// thrown away (never reused) and never crashes the process.
import { Pool, type PoolClient, type PoolConfig } from 'pg';

export function createPool(config: PoolConfig): Pool {
  const pool = new Pool(config);
  // An idle connection that the server closes (restart, pg_terminate_backend) is reported
  // here; the pool has already dropped it and the next checkout opens a fresh one.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs `work` on one connection; after any failure the connection is destroyed, not reused. */
export async function withClient<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A checked-out client has no listener of its own: a socket that drops between two of
  // our statements would otherwise be an unhandled 'error' event. The failure still
  // reaches us through the statement that was running or the next one.
  const ignore = () => undefined;
  client.on('error', ignore);
  try {
    const result = await work(client);
    client.removeListener('error', ignore);
    client.release();
    return result;
  } catch (error) {
    client.removeListener('error', ignore);
    client.release(true);
    throw error;
  }
}

/**
 * A short READ ONLY transaction with a statement timeout: nothing in it can modify data,
 * and no read holds a snapshot for long (a DBA's long-transaction alarm stays quiet).
 */
export function inReadOnlyTransaction<T>(
  pool: Pool,
  statementTimeoutMs: number,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  return withClient(pool, async (client) => {
    // Our own constant text (the timeout is a validated integer), so the simple protocol is fine here.
    await client.query(`BEGIN READ ONLY; SET LOCAL statement_timeout = ${Math.trunc(statementTimeoutMs)}`);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  });
}
