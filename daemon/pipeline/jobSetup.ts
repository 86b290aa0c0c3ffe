// What a job needs before its first request: the identity of its configuration (for the
// content cache and for resuming), and its endpoints with their keys.
import { createHash } from 'node:crypto';
import type { EndpointConfig } from '../provider/providerClient';
import type { JobSpec } from '../spec/jobSpec';

/** A problem with the job's setup that the user must fix (a key, most often). */
export class JobSetupError extends Error {
  override readonly name = 'JobSetupError';
}

/** Changes whenever the answers could change: prompt, template, schema, model, format. */
export function configHash(spec: JobSpec): string {
  // The api joins the identity only when it is not the original one, so that jobs written
  // before it existed keep their hash (and resume, and hit their cache) as they were.
  const api = spec.provider.api === 'openai' ? [] : [spec.provider.api];
  const identity = JSON.stringify([spec.prompt.system, spec.prompt.template, spec.output, spec.model, spec.provider.structuredOutput, spec.temperature ?? null, ...api]);
  return createHash('sha1').update(identity).digest('base64url');
}

const isLocal = (baseUrl: string) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(baseUrl).hostname);

export interface ResolvedEndpoint extends EndpointConfig {
  model: string;
}

/**
 * The primary endpoint and its fallbacks, each with its key: from the editor's secret
 * storage (by base URL) or from the environment variable the spec names. A remote endpoint
 * without a key is refused before anything is sent; a local one (a mock, Ollama, vLLM) may
 * go without.
 */
export function resolveEndpoints(
  spec: JobSpec,
  secrets: Readonly<Record<string, string>>,
  env: Readonly<Record<string, string | undefined>>,
): ResolvedEndpoint[] {
  const primary = { api: spec.provider.api, baseUrl: spec.provider.baseUrl, apiKeyEnv: spec.provider.apiKeyEnv, headers: spec.provider.headers, model: spec.model };
  return [primary, ...spec.provider.fallbacks].map((endpoint, index) => {
    const envName = endpoint.apiKeyEnv;
    const apiKey = secrets[endpoint.baseUrl] ?? (env[envName] || undefined);
    if (!apiKey && !isLocal(endpoint.baseUrl)) {
      const where = index === 0 ? 'provider' : `provider.fallbacks[${index - 1}]`;
      throw new JobSetupError(
        `No API key for ${endpoint.baseUrl} (${where}): set the environment variable ${envName}, or run "Drover: Set API Key" in VS Code.`,
      );
    }
    return { api: endpoint.api, baseUrl: endpoint.baseUrl, headers: { ...spec.provider.headers, ...endpoint.headers }, apiKey, model: endpoint.model ?? spec.model };
  });
}
