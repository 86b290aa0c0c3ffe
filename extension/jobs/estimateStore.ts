// The last estimate made for each job, so its dashboard can set the cost so far against
// it, in this window and after a reload. Kept in the extension's global state, by state
// directory and job name (the same name in another state directory is another job).
import type * as vscode from 'vscode';
import { jobEstimateSchema, type JobEstimate } from '../../daemon/protocol/estimate';

const storeKey = 'drover.estimates';
/** Old entries are dropped beyond this many. */
const keptEstimates = 200;

export class EstimateStore {
  constructor(
    private readonly memento: vscode.Memento,
    private readonly stateDir: () => string,
  ) {}

  get(jobId: string): JobEstimate | null {
    const parsed = jobEstimateSchema.safeParse(this.all()[this.key(jobId)]);
    return parsed.success ? parsed.data : null;
  }

  async set(jobId: string, estimate: JobEstimate): Promise<void> {
    const entries = Object.entries(this.all()).filter(([key]) => key !== this.key(jobId));
    entries.push([this.key(jobId), estimate]);
    await this.memento.update(storeKey, Object.fromEntries(entries.slice(-keptEstimates)));
  }

  private key(jobId: string): string {
    return `${this.stateDir()}\u0000${jobId}`;
  }

  private all(): Record<string, unknown> {
    const stored = this.memento.get<unknown>(storeKey);
    return typeof stored === 'object' && stored !== null ? (stored as Record<string, unknown>) : {};
  }
}
