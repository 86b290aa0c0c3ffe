// Turns a spec sent over the socket into the JobSpec the engine runs: validated, its
// relative paths resolved against the client's baseDir, its template and output schema
// compiled — each problem named so the editor can show it.
import { isAbsolute } from 'node:path';
import { compileOutputSchema } from '../pipeline/outputSchema';
import { resolveEndpoints } from '../pipeline/jobSetup';
import { openSource } from '../sources/openSource';
import { compileTemplate } from '../sources/template';
import type { JobSpec } from '../spec/jobSpec';
import { resolveSpecPaths, SpecError, validateSpec } from '../spec/loadSpec';
import type { RpcResult } from '../protocol/rpc';

const specLabel = '(job spec)';

function relativePaths(spec: JobSpec): string[] {
  const found: string[] = [];
  if (spec.source.type !== 'postgres' && !isAbsolute(spec.source.path)) found.push(`source.path "${spec.source.path}"`);
  const sink = spec.sink;
  if (sink && sink.type !== 'postgres' && sink.path !== undefined && !isAbsolute(sink.path)) found.push(`sink.path "${sink.path}"`);
  return found;
}

export function specFromParams(input: Record<string, unknown>, baseDir: string | undefined): JobSpec {
  const spec = validateSpec(input, specLabel);
  if (baseDir !== undefined && !isAbsolute(baseDir)) {
    throw new SpecError(specLabel, [`baseDir: "${baseDir}" must be an absolute directory (the spec file's)`]);
  }
  if (baseDir === undefined) {
    const relative = relativePaths(spec);
    if (relative.length > 0) {
      throw new SpecError(specLabel, relative.map((path) => `${path} is relative: pass baseDir (the spec file's directory) or an absolute path`));
    }
  }
  const resolved = baseDir === undefined ? spec : resolveSpecPaths(spec, baseDir);
  compileTemplate(resolved.prompt.template);
  compileOutputSchema(resolved.output);
  return resolved;
}

export function validateSpecParams(input: Record<string, unknown>, baseDir: string | undefined): RpcResult<'job.validate'> {
  const name = typeof input.name === 'string' ? input.name : null;
  try {
    const spec = specFromParams(input, baseDir);
    return { valid: true, jobId: spec.name, problems: [] };
  } catch (error) {
    if (error instanceof SpecError) return { valid: false, jobId: null, problems: error.problems };
    if (error instanceof Error && (error.name === 'TemplateError' || error.name === 'OutputSchemaError')) {
      return { valid: false, jobId: name, problems: [error.message] };
    }
    throw error;
  }
}

/**
 * What would make the job fail in its first second, checked before it is admitted so the
 * client gets the error as the answer: a missing API key, a source that cannot be opened.
 */
export async function preflight(spec: JobSpec, secrets: Readonly<Record<string, string>>, env: Readonly<Record<string, string | undefined>>): Promise<void> {
  resolveEndpoints(spec, secrets, env);
  const source = await openSource(spec.source);
  await source.close();
}
