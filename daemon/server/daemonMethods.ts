// The daemon's JSON-RPC methods: thin handlers that turn validated params into calls on
// the job manager, the estimator and the ledgers.
import { estimateJob, previewRecords } from '../estimate/estimateJob';
import { protocolVersion } from '../protocol/rpc';
import { version } from '../version';
import type { JobManager } from './jobManager';
import type { MethodHandlers } from './rpcDispatcher';
import { specFromParams, validateSpecParams } from './specInput';

/** The caller of a method: a client that can follow jobs (a ClientSession). */
export interface JobSubscriber {
  subscribe(jobId: string): void;
  unsubscribe(jobId: string): void;
}

export interface DaemonIdentity {
  stateDir: string;
  startedAt: string;
}

export function daemonMethods<Caller extends JobSubscriber>(manager: JobManager, identity: DaemonIdentity): MethodHandlers<Caller> {
  return {
    hello: () => ({ daemonVersion: version, protocolVersion, pid: process.pid, stateDir: identity.stateDir, startedAt: identity.startedAt }),
    'job.validate': ({ spec, baseDir }) => validateSpecParams(spec, baseDir),
    'job.estimate': ({ spec, baseDir, sampleSize, fullScanLimit }) => estimateJob(specFromParams(spec, baseDir), { sampleSize, fullScanLimit }),
    'job.start': async ({ spec, baseDir, secrets, retryFailed }) => ({ info: await manager.start(specFromParams(spec, baseDir), secrets, retryFailed) }),
    'job.pause': ({ jobId }) => ({ info: manager.pause(jobId) }),
    'job.resume': async ({ jobId, secrets, retryFailed }) => ({ info: await manager.resume(jobId, secrets, retryFailed) }),
    'job.cancel': ({ jobId }) => ({ info: manager.cancel(jobId) }),
    'job.delete': ({ jobId }) => {
      manager.delete(jobId);
      return { deleted: true };
    },
    'job.list': () => ({ jobs: manager.list() }),
    'job.get': ({ jobId }) => manager.detail(jobId),
    'job.subscribe': ({ jobId }, session) => {
      const info = manager.info(jobId);
      session.subscribe(jobId);
      return { info, progress: manager.latestProgress(jobId) };
    },
    'job.unsubscribe': ({ jobId }, session) => {
      session.unsubscribe(jobId);
      return { subscribed: false };
    },
    'results.page': ({ jobId, offset, limit, status }) => manager.catalog.resultsPage(jobId, { offset, limit, status }),
    'source.preview': async ({ spec, baseDir, limit }) => {
      const resolved = specFromParams(spec, baseDir);
      return { jobId: resolved.name, records: await previewRecords(resolved, limit) };
    },
  };
}
