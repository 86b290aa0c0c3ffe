// Anthropic's errors — `{"type":"error","error":{"type","message"}}` — into Drover's
// classes. Most statuses mean what they mean for OpenAI and go through the shared
// classification; what is Anthropic's own is decided here first.
import { classifyHttpError, providerError, type CallError } from '../errorClass';

const messagesPath = '/messages';

export function classifyAnthropicError(status: number, body: unknown, fallbackText: string, baseUrl: string): CallError {
  const { message, type } = providerError(body);
  const said = message ?? (fallbackText.trim().slice(0, 300) || `HTTP ${status}`);
  if (status === 529 || type === 'overloaded_error') {
    // Anthropic as a whole is busy: back-pressure, neither the records' fault nor the key's.
    return { errorClass: 'overloaded', category: 'retry', status, message: `Anthropic is overloaded (${status}): ${said}` };
  }
  if (status === 401 || type === 'authentication_error') {
    return { errorClass: 'auth', category: 'fatal', status, message: `Anthropic rejected the API key (${status} ${type ?? 'authentication_error'}): ${said} Set a valid key (the spec's provider.apiKeyEnv variable, ANTHROPIC_API_KEY by default, or "Drover: Set API Key") and resume.` };
  }
  if (status === 403 || type === 'permission_error') {
    return { errorClass: 'forbidden', category: 'fatal', status, message: `Anthropic refused access (${status} ${type ?? 'permission_error'}): ${said} Check the key's workspace and its access to this model.` };
  }
  if (status === 404 && /model/i.test(said)) {
    return { errorClass: 'unknown_model', category: 'fatal', status, message: `Anthropic does not know this model (404): ${said} Fix "model" in the spec (e.g. claude-sonnet-4-5).` };
  }
  if (status === 404) {
    return { errorClass: 'not_found', category: 'fatal', status, message: `${baseUrl}${messagesPath} answered 404: ${said} Check provider.baseUrl (https://api.anthropic.com/v1 for Anthropic).` };
  }
  if (status === 400 && /credit balance/i.test(said)) {
    return { errorClass: 'insufficient_quota', category: 'fatal', status, message: `Anthropic says the account cannot pay for this: ${said} Add credit, then resume the job.` };
  }
  if ((status === 400 || status === 413) && /prompt is too long|exceed context limit|request_too_large|too large/i.test(`${said} ${type ?? ''}`)) {
    return { errorClass: 'context_length', category: 'split', status, message: said };
  }
  return classifyHttpError(status, body, fallbackText, baseUrl);
}
