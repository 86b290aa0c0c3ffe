// A job run by one of several workers on the shared Postgres ledger: connects, creates the
// ledger's tables and the results table, joins the job (refusing a worker whose spec differs
// from the job's), runs this worker's share, and reports the job's state as it ends.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Pool } from 'pg';
import type { EngineControls, EngineOptions } from '../pipeline/engineParts';
import { buildEngine, resolveJob } from '../pipeline/engineParts';
import type { JobRunner } from '../pipeline/jobRunner';
import { Ledger } from '../ledger/ledger';
import { JobSetupError } from '../pipeline/jobSetup';
import { connectionTarget, type ConnectionTarget } from '../postgres/connectionConfig';
import { describeDatabaseError, errorMessage, isTransient } from '../postgres/errors';
import { displayQualified, parseQualifiedName, type QualifiedName } from '../postgres/identifiers';
import { createPool, withClient } from '../postgres/pool';
import { resultColumns } from '../postgres/resultColumns';
import { prepareResultsTable } from '../postgres/resultsTable';
import { jobSummaryOf, type JobSummary } from '../protocol/jobProgress';
import { openSource } from '../sources/openSource';
import type { JobSpec, LedgerSpec } from '../spec/jobSpec';
import { defaultResultsTable } from '../sql/identifiers';
import type { ResultsTarget } from './fencedCommit';
import { LedgerLoader } from './ledgerLoader';
import { PostgresLedger } from './postgresLedger';
import { createSharedTables } from './sharedSchema';
import { pollIntervalMs, SharedRunLoop } from './sharedRunLoop';

const queryTimeoutMs = 30_000;

/**
 * With a shared ledger the results can only go where the ledger is: a table in the same
 * database, written in the transaction that commits the answers (exactly once).
 */
function resultsTable(spec: JobSpec, ledger: LedgerSpec): QualifiedName | null {
  const sink = spec.sink;
  if (sink === undefined) return null;
  if (sink.type !== 'postgres') {
    throw new JobSetupError(
      `sink: a job with a Postgres ledger writes its results to a Postgres table in the ledger's database, in the same transaction as the ledger; ` +
        `a ${sink.type} sink cannot take part in that. Use "sink": {"type": "postgres"} (or no sink: the answers are in the ledger's records table), ` +
        'or drop "ledger" to run the job in one process with a SQLite ledger.',
    );
  }
  if (sink.url !== undefined && sink.url !== ledger.postgres) {
    throw new JobSetupError('sink.url: with a Postgres ledger the results table lives in the ledger\'s database; leave sink.url out (or give the same URL as ledger.postgres).');
  }
  if (sink.table === undefined) return { schema: null, name: defaultResultsTable(spec.name) };
  const parsed = parseQualifiedName(sink.table);
  if (typeof parsed === 'string') throw new JobSetupError(`sink.table: ${parsed}`);
  return parsed;
}

async function prepare(pool: Pool, target: ConnectionTarget, ledger: LedgerSpec, results: ResultsTarget | null): Promise<void> {
  const fail = (message: string) => new JobSetupError(message);
  try {
    await withClient(pool, async (client) => {
      await createSharedTables(client, ledger.schema);
      if (results) await prepareResultsTable(client, results.table, results.columns, fail);
    });
  } catch (error) {
    if (error instanceof JobSetupError) throw error;
    if (isTransient(error)) throw fail(`ledger.postgres: cannot connect to ${target.description}: ${errorMessage(error)}`);
    throw fail(`ledger (schema "${ledger.schema}"${results ? `, results table "${displayQualified(results.table)}"` : ''}): ${describeDatabaseError(error)}`);
  }
}

export async function runOnSharedLedger(
  runner: JobRunner,
  spec: JobSpec,
  ledgerSpec: LedgerSpec,
  options: EngineOptions & { stateDir: string },
  controls: EngineControls,
): Promise<JobSummary> {
  const resolved = resolveJob(spec, options);
  const table = resultsTable(spec, ledgerSpec);
  const results = table && { table, columns: resultColumns(spec.output) };
  const target = connectionTarget({
    optionPath: 'ledger',
    url: ledgerSpec.postgres,
    passwordEnv: ledgerSpec.passwordEnv,
    applicationName: 'drover ledger',
    ...(options.env ? { env: options.env } : {}),
    fail: (message) => new JobSetupError(message.replace('ledger.url', 'ledger.postgres')),
  });
  const leaseMs = ledgerSpec.leaseMs;
  // A worker stopped in the middle of a transaction would hold its rows' locks, and SKIP
  // LOCKED would hide them from the others for as long as it stays stopped: the server ends
  // such a transaction (and its session) once it has been idle for a lease.
  const sessions = { ...target.config, idle_in_transaction_session_timeout: leaseMs };
  const pool = createPool({ ...sessions, max: Math.min(spec.limits.concurrency, 16) + 4, query_timeout: queryTimeoutMs });
  // The loader holds its advisory lock on a session of its own for as long as it loads.
  const loaderPool = createPool({ ...sessions, max: 1 });
  const owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const ledger = new PostgresLedger(pool, ledgerSpec.schema, spec.name, owner, leaseMs, results, (error) =>
    runner.log('warn', `shared ledger: ${error instanceof Error ? error.message : String(error)}`),
  );
  let clients: { close(): Promise<void> }[] = [];
  // This worker's share, in its own state dir: what the daemon lists, pages and exports.
  const mirror = Ledger.open(options.stateDir, spec.name);
  try {
    mirror.upsertJob(spec.name, JSON.stringify(spec), resolved.configHash);
    mirror.setStatus('running', null);
    await prepare(pool, target, ledgerSpec, results);
    const state = await ledger.join(JSON.stringify(spec), resolved.configHash);
    if (state.configHash !== resolved.configHash) {
      throw new JobSetupError(
        `job "${spec.name}" in the shared ledger (${target.description}, schema ${ledgerSpec.schema}) runs a different prompt, template, output schema or model. ` +
          'Every worker of a job must run the same spec: use the job\'s spec, or give this one another name.',
      );
    }
    if (state.status !== 'done') await ledger.setStatus('running', null);
    await ledger.refresh();
    const engine = await buildEngine(spec, options, controls, ledger, resolved, undefined);
    clients = [...engine.clients, engine.admission];
    const { progress } = engine;
    runner.log('info', `worker ${owner} joined job ${spec.name} on the shared ledger (${target.description}, schema ${ledgerSpec.schema})`);

    const loader = new LedgerLoader(loaderPool, ledger.tables, spec.name);
    const pollMs = pollIntervalMs(leaseMs);
    const load = async () => {
      while (!runner.stopping) {
        try {
          const outcome = await loader.load(() => openSource(spec.source), controls.stopSignal);
          if (outcome !== 'busy') return;
        } catch (error) {
          // The ledger's connection failed, not the source: the pages loaded are kept, load again.
          if (!isTransient(error)) throw error;
          runner.log('warn', `loading into the shared ledger was interrupted (${errorMessage(error)}); resuming`);
        }
        // Another worker loads; should it die, its lock goes with its session and this one takes over.
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    };
    const loop = new SharedRunLoop(runner, {
      spec, ledger, mirror, progress, load, leaseMs,
      budget: engine.budget,
      executor: engine.executor,
      preparer: engine.preparer,
      overheadTokens: engine.builder.overheadTokens,
      claimSize: ledgerSpec.claimSize ?? spec.limits.concurrency * spec.batching.recordsPerRequest,
    });
    const { discarded } = await loop.run();
    const stop = runner.stopping;
    const { done, failed } = progress.counts;
    if (!stop) await ledger.setStatus('done', failed > 0 ? `${failed} records failed` : null);
    if (discarded > 0) runner.log('warn', `this worker discarded ${discarded} answers it could not commit (another worker had claimed their records after this one's lease ran out, or the commit failed)`);
    await ledger.refresh();
    const job = ledger.job();
    progress.setTotal(job?.total ?? done + failed, true);
    // The job's row says "done" once no record is pending; a pause or cancel stops this worker only.
    const status = stop ? (stop.kind === 'cancel' ? 'cancelled' : 'paused') : 'done';
    mirror.addElapsed(progress.finishRun());
    mirror.setTotal(job?.total ?? done + failed, true);
    mirror.setStatus(status, stop ? stop.message : (job?.statusReason ?? null));
    const final = progress.snapshot(
      job && { ...job, status, statusReason: stop ? stop.message : job.statusReason },
      stop ? (stop.errorClass ?? stop.kind) : null,
    );
    runner.emitProgress(final);
    return jobSummaryOf(final);
  } catch (error) {
    if (mirror.job()?.status === 'running') mirror.setStatus('paused', `${error instanceof JobSetupError ? '' : 'internal error: '}${error instanceof Error ? error.message : String(error)}`);
    throw error;
  } finally {
    mirror.close();
    await Promise.all(clients.map((client) => client.close()));
    await loaderPool.end().catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
}
