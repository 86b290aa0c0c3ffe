// The daemon's log: one JSON object per line in $DROVER_HOME/logs/daemon.log (rotated by
// size, a few generations kept) and a short human line on stderr, both redacted.
import { appendFileSync, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Redactor } from './redactor';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface DaemonLogOptions {
  file: string;
  redactor: Redactor;
  /** Human lines go here; null keeps stderr quiet (a detached daemon has none). */
  stderr: NodeJS.WritableStream | null;
  maxBytes?: number;
  /** Rotated files kept beside the current one: daemon.log.1 … daemon.log.N. */
  keep?: number;
}

export class DaemonLog {
  private size: number;
  private fileFailure: string | null = null;
  private readonly maxBytes: number;
  private readonly keep: number;

  constructor(private readonly options: DaemonLogOptions) {
    mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 });
    this.size = existsSync(options.file) ? statSync(options.file).size : 0;
    this.maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
    this.keep = options.keep ?? 3;
  }

  debug(message: string, fields?: LogFields): void {
    this.write('debug', message, fields);
  }

  info(message: string, fields?: LogFields): void {
    this.write('info', message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    this.write('warn', message, fields);
  }

  error(message: string, fields?: LogFields): void {
    this.write('error', message, fields);
  }

  private write(level: LogLevel, message: string, fields: LogFields = {}): void {
    const { redactor } = this.options;
    const time = new Date().toISOString();
    const safeMessage = redactor.redact(message);
    const safeFields = redactor.redactDeep(fields);
    const line = `${JSON.stringify({ time, level, msg: safeMessage, ...safeFields })}\n`;
    // Writes are synchronous: the daemon logs a few lines a second at most, and a line
    // written just before a crash is the one that explains it.
    try {
      this.rotateIfFull(Buffer.byteLength(line));
      appendFileSync(this.options.file, line, { mode: 0o600 });
      this.size += Buffer.byteLength(line);
      this.fileFailure = null;
    } catch (error) {
      // A full disk must not stop the jobs: say so once on stderr and carry on.
      const failure = String(error);
      if (failure !== this.fileFailure) this.options.stderr?.write(`cannot write ${this.options.file}: ${failure}\n`);
      this.fileFailure = failure;
    }
    if (this.options.stderr && level !== 'debug') {
      const extra = Object.entries(safeFields)
        .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
        .join(' ');
      this.options.stderr.write(`${time} ${level.padEnd(5)} ${safeMessage}${extra ? `  ${extra}` : ''}\n`);
    }
  }

  private rotateIfFull(incoming: number): void {
    if (this.size + incoming <= this.maxBytes || this.size === 0) return;
    const { file } = this.options;
    for (let generation = this.keep - 1; generation >= 1; generation -= 1) {
      if (existsSync(`${file}.${generation}`)) renameSync(`${file}.${generation}`, `${file}.${generation + 1}`);
    }
    renameSync(file, `${file}.1`);
    this.size = 0;
  }
}
