// The daemon's command line, shared by `drover daemon` and `node dist/daemon.js`.
import { parseArgs } from 'node:util';
import { UsageError } from '../cli/command';
import { stateDirectory } from '../cli/stateDir';

export interface DaemonOptions {
  port: number;
  stateDir: string;
  /** Leave after this long with no running job and no client; null stays for ever. */
  idleExitMs: number | null;
  /** How long requests in flight may finish at shutdown before they are aborted. */
  drainMs: number;
}

export const daemonUsage = `drover daemon [options]

Runs the Drover daemon: jobs run in it, survive closed terminals and editor windows, and
any number of clients (VS Code windows, \`drover attach\`) watch them. It listens on
127.0.0.1 only, accepts only clients presenting the token in $DROVER_HOME/daemon.json
(mode 0600), and exits at once (code 0) when a daemon already serves the state directory.
SIGTERM or Ctrl-C pauses running jobs cleanly; the next daemon resumes them.

Options:
  --port N                 listen on this port (default 0: any free port)
  --state-dir DIR          where ledgers, logs and daemon.json live (default $DROVER_HOME or ~/.drover)
  --idle-exit-minutes N    exit after N minutes with no running job and no client
  --drain-seconds N        at shutdown, how long requests in flight may finish (default 20)

Logs: DIR/logs/daemon.log (JSON lines) and stderr.`;

function number(flag: string, value: string | undefined, check: (value: number) => boolean, expected: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || !check(parsed)) throw new UsageError(`--${flag} needs ${expected}, got "${value}"`);
  return parsed;
}

export function parseDaemonArgs(argv: string[]): DaemonOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      'state-dir': { type: 'string' },
      'idle-exit-minutes': { type: 'string' },
      'drain-seconds': { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`drover daemon takes no arguments, got "${positionals.join(' ')}"`);
  const port = number('port', values.port, (value) => Number.isInteger(value) && value >= 0 && value <= 65_535, 'a port number (0-65535)');
  const idle = number('idle-exit-minutes', values['idle-exit-minutes'], (value) => value > 0, 'a positive number of minutes');
  const drain = number('drain-seconds', values['drain-seconds'], (value) => value >= 0, 'a number of seconds');
  return {
    port: port ?? 0,
    stateDir: stateDirectory(values['state-dir']),
    idleExitMs: idle === undefined ? null : idle * 60_000,
    drainMs: (drain ?? 20) * 1000,
  };
}
