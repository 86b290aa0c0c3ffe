// The HTML shell every Drover webview loads: a strict CSP that lets in only the extension's
// own script (by a fresh crypto nonce) and stylesheets, and nothing that could reach the
// network. No `vscode` import: the panel passes in what it got from the API, so this is
// tested as a plain function.
import { randomBytes } from 'node:crypto';

export interface WebviewHtmlOptions {
  /** The page title screen readers announce. */
  title: string;
  /** `webview.cspSource`: where the webview may load its own scripts, styles and fonts from. */
  cspSource: string;
  /** `webview.asWebviewUri(…)` of the bundled script. */
  scriptUri: string;
  /** `webview.asWebviewUri(…)` of each bundled stylesheet. */
  styleUris: readonly string[];
}

/** 128 bits is the floor the CSP spec asks of a nonce; 256 costs nothing more. */
const nonceBytes = 32;

export function createNonce(): string {
  return randomBytes(nonceBytes).toString('base64url');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  // A source list must not end the directive or smuggle in another one.
  if (cspSource.trim() === '' || /[;,\r\n]/.test(cspSource)) {
    throw new Error(`cspSource must be a CSP source list such as webview.cspSource, not ${JSON.stringify(cspSource)}`);
  }
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
    "connect-src 'none'",
  ].join('; ');
}

export function webviewHtml(options: WebviewHtmlOptions): string {
  const nonce = createNonce();
  const styles = options.styleUris.map((uri) => `    <link rel="stylesheet" href="${escapeHtml(uri)}">`);
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '  <head>',
    '    <meta charset="utf-8">',
    `    <meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(options.cspSource, nonce))}">`,
    '    <meta name="viewport" content="width=device-width, initial-scale=1">',
    `    <title>${escapeHtml(options.title)}</title>`,
    ...styles,
    '  </head>',
    '  <body>',
    '    <div id="app"></div>',
    `    <script nonce="${nonce}" src="${escapeHtml(options.scriptUri)}"></script>`,
    '  </body>',
    '</html>',
    '',
  ].join('\n');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
