// The webview's side of postMessage: the one VS Code API object, typed posting, zod-checked
// receiving, and the state VS Code keeps across webview reloads.
import { z } from 'zod';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): unknown;
}

declare global {
  /** Injected by VS Code into every webview; may be called once per page. */
  function acquireVsCodeApi(): VsCodeApi;
}

export interface HostBridge<Outgoing> {
  post(message: Outgoing): void;
  /** What an earlier instance of this webview saved, if it still fits `schema`. */
  loadState<State>(schema: z.ZodType<State>): State | undefined;
  saveState(state: unknown): void;
}

export function connectToHost<Incoming, Outgoing>(
  label: string,
  incoming: z.ZodType<Incoming>,
  handle: (message: Incoming) => void,
): HostBridge<Outgoing> {
  const api = acquireVsCodeApi();
  window.addEventListener('message', (event: MessageEvent<unknown>) => {
    const parsed = incoming.safeParse(event.data);
    if (!parsed.success) {
      console.warn(`Drover ${label}: ignored an invalid message from the extension:\n${z.prettifyError(parsed.error)}`);
      return;
    }
    try {
      handle(parsed.data);
    } catch (error) {
      // One bad message must not leave the panel dead for the ones after it.
      console.error(`Drover ${label}: failed to show a "${typeOf(parsed.data)}" message`, error);
    }
  });
  return {
    post: (message) => api.postMessage(message),
    loadState: (schema) => {
      const parsed = schema.safeParse(api.getState());
      return parsed.success ? parsed.data : undefined;
    },
    saveState: (state) => {
      api.setState(state);
    },
  };
}

function typeOf(message: unknown): string {
  return typeof message === 'object' && message !== null && 'type' in message ? String(message.type) : 'unknown';
}
