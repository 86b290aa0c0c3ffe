import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** `--state-dir`, else `$DROVER_HOME`, else `~/.drover`. */
export function stateDirectory(flag: string | undefined): string {
  if (flag) return resolve(flag);
  if (process.env.DROVER_HOME) return resolve(process.env.DROVER_HOME);
  return join(homedir(), '.drover');
}
