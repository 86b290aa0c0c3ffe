import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { jobSpecJsonSchema } from '../../spec/jsonSchema';
import { ExitCode, type CliCommand } from '../command';

export const schemaCommand: CliCommand = {
  name: 'schema',
  summary: 'Print the JSON Schema of job specs (for editors)',
  usage: `drover schema [--out FILE]

Prints the JSON Schema of *.drover.json job specs, generated from the same
definition that validates them.

  --out FILE   write it to FILE instead of standard output`,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { out: { type: 'string' } } });
    const text = `${JSON.stringify(jobSpecJsonSchema(), null, 2)}\n`;
    if (values.out) await writeFile(values.out, text);
    else process.stdout.write(text);
    return ExitCode.ok;
  },
};
