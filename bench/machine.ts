// The machine line every result carries: numbers only compare on the same hardware.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  postgres: string | null;
  /** The 1-minute load average when the bench started: a busy machine shows here. */
  loadAverage: number;
  line: string;
}

function postgresVersion(): string | null {
  try {
    return execFileSync('psql', ['--version'], { encoding: 'utf8' }).trim().replace(/^psql \(PostgreSQL\) /, '');
  } catch {
    return null;
  }
}

export function describeMachine(): Machine {
  const cores = cpus().length;
  const cpuModel = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const memoryGb = Math.round(totalmem() / 2 ** 30);
  const node = process.versions.node;
  const postgres = postgresVersion();
  const loadAverage = Number(loadavg()[0].toFixed(2));
  const line =
    `${cores} × ${cpuModel}, ${memoryGb} GB RAM, Node ${node}` +
    `${postgres ? `, PostgreSQL ${postgres}` : ''}, load average ${loadAverage} at the start`;
  return { cores, cpuModel, memoryGb, node, postgres, loadAverage, line };
}
