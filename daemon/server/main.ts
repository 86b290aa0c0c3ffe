// dist/daemon.js: the daemon as its own executable, which the VS Code extension spawns.
// Same options and behaviour as `drover daemon`.
import { ExitCode, isUsageMistake } from '../cli/command';
import { daemonUsage, parseDaemonArgs } from './daemonOptions';
import { runDaemon } from './daemonProcess';

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${daemonUsage}\n`);
    return ExitCode.ok;
  }
  try {
    return await runDaemon(parseDaemonArgs(argv));
  } catch (error) {
    process.stderr.write(`drover daemon: ${error instanceof Error ? error.message : String(error)}\n`);
    return isUsageMistake(error) ? ExitCode.usage : ExitCode.internal;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`drover daemon: ${String(error)}\n`);
    process.exitCode = ExitCode.internal;
  },
);
