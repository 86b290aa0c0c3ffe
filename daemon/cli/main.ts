// `drover` — the command-line entry. Each command lives in its own module under commands/.
import { mockLlmCommand } from './commands/mockLlm';
import { attachCommand } from './commands/attach';
import { cancelCommand, pauseCommand, resumeCommand } from './commands/control';
import { daemonCommand } from './commands/daemon';
import { jobsCommand } from './commands/jobs';
import { demoCommand } from './commands/demo';
import { estimateCommand } from './commands/estimate';
import { exportCommand } from './commands/export';
import { runCommand } from './commands/run';
import { schemaCommand } from './commands/schema';
import { ExitCode, isUsageMistake, type CliCommand } from './command';
import { version } from '../version';

const commands: readonly CliCommand[] = [
  runCommand,
  estimateCommand,
  exportCommand,
  jobsCommand,
  attachCommand,
  pauseCommand,
  resumeCommand,
  cancelCommand,
  daemonCommand,
  demoCommand,
  schemaCommand,
  mockLlmCommand,
];

function mainHelp(): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  const lines = commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return `drover ${version} — run an LLM over millions of records, resumably and within limits

Usage: drover <command> [options]     drover <command> --help

Commands:
${lines.join('\n')}

Exit codes:
  0   done: every record finished (or stopped cleanly by SIGTERM: run it again to resume)
  1   done, but some records failed (see \`drover export\`)
  2   bad usage or an invalid spec: nothing was started
  3   stopped for a reason you must fix (API key, quota, unknown model, budget, endpoint down)
  4   paused by Ctrl-C; run the same command again to resume
  70  internal error
`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp());
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${version}\n`);
    return ExitCode.ok;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (!command) {
    process.stderr.write(`drover: unknown command "${name}". Run "drover --help" for the list.\n`);
    return ExitCode.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return ExitCode.ok;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    process.stderr.write(`drover ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return isUsageMistake(error) ? ExitCode.usage : ExitCode.internal;
  }
}

// `drover export … | head` closes the pipe early; that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`drover: ${String(error)}\n`);
    process.exitCode = ExitCode.internal;
  },
);
