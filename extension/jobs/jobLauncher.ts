// Orchestrates what the commands, CodeLenses and panels ask of the daemon: start, estimate,
// preview, pause, resume, cancel, delete. It adds what only the editor has — API keys from
// SecretStorage, prices from the settings — and refuses to run anything from a workspace
// the user has not trusted.
import * as vscode from 'vscode';
import type { JobEstimate, PreviewRecord } from '../../daemon/protocol/estimate';
import type { JobInfo } from '../../daemon/protocol/rpc';
import type { DaemonConnection } from '../daemon/daemonConnection';
import type { ApiKeyStore } from '../secrets/apiKeyStore';
import type { DroverSettings } from '../settings/droverSettings';
import { endpointBaseUrls, type SpecSource } from '../specs/jobSpecFile';
import type { EstimateStore } from './estimateStore';
import type { JobsModel } from './jobsModel';

/** Running a job reads local data and spends money: only in a workspace the user trusts. */
export class UntrustedWorkspaceError extends Error {
  override readonly name = 'UntrustedWorkspaceError';

  constructor(what: string) {
    super(`Drover does not ${what} in an untrusted workspace: a job spec can read any file or database and send it to a provider. Trust this workspace to go on.`);
  }
}

export class JobLauncher {
  constructor(
    private readonly connection: DaemonConnection,
    private readonly keys: ApiKeyStore,
    private readonly settings: () => DroverSettings,
    private readonly model: JobsModel,
    private readonly estimates: EstimateStore,
  ) {}

  async start(spec: SpecSource): Promise<JobInfo> {
    requireTrust('run jobs');
    const client = await this.connection.client();
    const input = this.withSettingsPrices(spec.input);
    const secrets = await this.keys.forEndpoints(endpointBaseUrls(input));
    const { info } = await client.call('job.start', { spec: input, baseDir: spec.baseDir, secrets });
    await this.model.load();
    await this.model.refreshJob(info.jobId);
    return info;
  }

  /** `remember`: keep it for the job's dashboard (not for previews, which are not jobs). */
  async estimate(spec: SpecSource, { remember = true } = {}): Promise<JobEstimate> {
    requireTrust('estimate jobs');
    const client = await this.connection.client();
    const estimate = await client.call('job.estimate', { spec: this.withSettingsPrices(spec.input), baseDir: spec.baseDir });
    if (remember) await this.estimates.set(estimate.jobId, estimate);
    return estimate;
  }

  async preview(spec: SpecSource, limit: number): Promise<PreviewRecord[]> {
    requireTrust('read records');
    const client = await this.connection.client();
    const { records } = await client.call('source.preview', { spec: this.withSettingsPrices(spec.input), baseDir: spec.baseDir, limit });
    return records;
  }

  async pause(jobId: string): Promise<JobInfo> {
    const client = await this.connection.client();
    const { info } = await client.call('job.pause', { jobId });
    return info;
  }

  async resume(jobId: string): Promise<JobInfo> {
    requireTrust('run jobs');
    const client = await this.connection.client();
    // The keys the job's own endpoints need: its stored spec names them.
    const { spec } = await client.call('job.get', { jobId });
    const secrets = await this.keys.forEndpoints(endpointBaseUrls(spec));
    const { info } = await client.call('job.resume', { jobId, secrets });
    await this.model.refreshJob(jobId);
    return info;
  }

  async cancel(jobId: string): Promise<JobInfo> {
    const client = await this.connection.client();
    const { info } = await client.call('job.cancel', { jobId });
    await this.model.refreshJob(jobId);
    return info;
  }

  async delete(jobId: string): Promise<void> {
    const client = await this.connection.client();
    await client.call('job.delete', { jobId });
  }

  /** The user's price overrides apply under the spec's own. */
  private withSettingsPrices(input: Record<string, unknown>): Record<string, unknown> {
    const fromSettings = this.settings().prices;
    if (Object.keys(fromSettings).length === 0) return input;
    const own = typeof input.prices === 'object' && input.prices !== null ? input.prices : {};
    return { ...input, prices: { ...fromSettings, ...own } };
  }
}

export function requireTrust(what: string): void {
  if (!vscode.workspace.isTrusted) throw new UntrustedWorkspaceError(what);
}
