// The names of the jobs the daemon is running, kept in $DROVER_HOME/daemon-jobs.json so
// that the next daemon (after a crash or a shutdown) knows which jobs to bring back, and
// leaves alone the ledgers of jobs that `drover run` runs in-process.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

const ownedJobsSchema = z.object({ jobs: z.array(z.string()) });

export class OwnedJobs {
  private readonly names: Set<string>;
  readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, 'daemon-jobs.json');
    this.names = new Set(this.read());
  }

  list(): string[] {
    return [...this.names];
  }

  add(name: string): void {
    if (this.names.has(name)) return;
    this.names.add(name);
    this.save();
  }

  remove(name: string): void {
    if (!this.names.delete(name)) return;
    this.save();
  }

  private read(): string[] {
    try {
      const parsed = ownedJobsSchema.safeParse(JSON.parse(readFileSync(this.path, 'utf8')));
      return parsed.success ? parsed.data.jobs : [];
    } catch {
      return [];
    }
  }

  private save(): void {
    const temporary = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify({ jobs: [...this.names] })}\n`, { mode: 0o600 });
    renameSync(temporary, this.path);
  }
}
