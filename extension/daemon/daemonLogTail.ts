// Follows the daemon's log file ($DROVER_HOME/logs/daemon.log, one JSON object per line) from
// where it ends now, and hands each new entry on: this is how the daemon's own logs reach
// the "Drover" output channel. Reads only what was appended (at most `maxReadBytes` a poll)
// and starts over when the file was rotated.
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { z } from 'zod';

const logEntrySchema = z
  .object({ time: z.string(), level: z.enum(['debug', 'info', 'warn', 'error']), msg: z.string() })
  .catchall(z.unknown());

export interface DaemonLogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  /** The message with the entry's other fields as `name=value`. */
  text: string;
}

export function daemonLogFile(stateDir: string): string {
  return join(stateDir, 'logs', 'daemon.log');
}

export function formatLogEntry(line: string): DaemonLogEntry | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return line.trim() === '' ? null : { level: 'info', text: line };
  }
  const parsed = logEntrySchema.safeParse(value);
  if (!parsed.success) return { level: 'info', text: line };
  const { time: _time, level, msg, ...fields } = parsed.data;
  const extra = Object.entries(fields)
    .map(([name, field]) => `${name}=${typeof field === 'string' ? field : JSON.stringify(field)}`)
    .join(' ');
  return { level, text: extra ? `${msg}  ${extra}` : msg };
}

export class DaemonLogTail {
  private position: number | null = null;
  private partial = '';
  // Keeps a character cut in two by `maxReadBytes` whole for the next read.
  private decoder = new StringDecoder('utf8');
  private timer: ReturnType<typeof setInterval> | null = null;
  private reading = false;

  constructor(
    private readonly file: string,
    private readonly onEntry: (entry: DaemonLogEntry) => void,
    private readonly options: { pollMs: number; maxReadBytes: number } = { pollMs: 500, maxReadBytes: 1024 * 1024 },
  ) {}

  /** Skips what the file holds now; only later lines are reported. */
  async start(): Promise<void> {
    this.position = await sizeOf(this.file);
    this.timer ??= setInterval(() => void this.poll(), this.options.pollMs);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Reads what was appended since the last call. */
  async poll(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      await this.readAppended();
    } finally {
      this.reading = false;
    }
  }

  private async readAppended(): Promise<void> {
    const size = await sizeOf(this.file);
    if (this.position === null || size < this.position) {
      // Rotated (daemon.log became daemon.log.1) or new: the whole new file is new.
      this.position = 0;
      this.partial = '';
      this.decoder = new StringDecoder('utf8');
    }
    if (size === this.position) return;
    const length = Math.min(size - this.position, this.options.maxReadBytes);
    const handle = await open(this.file, 'r');
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, this.position);
      this.position += bytesRead;
      const text = this.partial + this.decoder.write(buffer.subarray(0, bytesRead));
      const lines = text.split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) {
        const entry = formatLogEntry(line);
        if (entry) this.onEntry(entry);
      }
    } finally {
      await handle.close();
    }
  }
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}
