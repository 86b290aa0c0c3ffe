// Decides, before a WebSocket upgrade completes, whether a request may become a session.
// A local service that any web page could reach is a hole in the user's machine, so a
// browser's request (it always carries Origin), a DNS-rebound host name, a token in the URL
// (it ends up in logs and histories) and a missing or wrong token are all refused.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface UpgradeRequest {
  url?: string;
  headers: IncomingHttpHeaders;
}

export interface Refusal {
  status: 400 | 401 | 403 | 404;
  reason: string;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Compares digests, which always have equal length, so timing reveals nothing of the token. */
export function tokenMatches(presented: string, token: string): boolean {
  return timingSafeEqual(digest(presented), digest(token));
}

function bearerToken(headers: IncomingHttpHeaders): string | null {
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(headers.authorization ?? '');
  return match?.[1] ?? null;
}

export function checkUpgrade(request: UpgradeRequest, expected: { port: number; token: string }): Refusal | null {
  const { headers } = request;
  if (headers.origin !== undefined || headers['sec-websocket-origin'] !== undefined) {
    return { status: 403, reason: 'requests from web pages (with an Origin header) are refused' };
  }
  const host = headers.host?.toLowerCase();
  if (host !== `127.0.0.1:${expected.port}` && host !== `localhost:${expected.port}`) {
    return { status: 403, reason: `unexpected Host header; use 127.0.0.1:${expected.port}` };
  }
  const url = request.url ?? '/';
  if (url.includes('?')) {
    return { status: 400, reason: 'a query string is refused: send the token in an Authorization: Bearer header' };
  }
  if (url !== '/') return { status: 404, reason: 'not found' };
  const presented = bearerToken(headers);
  if (presented === null) return { status: 401, reason: 'missing Authorization: Bearer token (see daemon.json)' };
  if (!tokenMatches(presented, expected.token)) return { status: 401, reason: 'wrong token' };
  return null;
}
