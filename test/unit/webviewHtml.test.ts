import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contentSecurityPolicy, createNonce, webviewHtml } from '../../extension/webview/webviewHtml';

const cspSource = "'self' https://*.vscode-cdn.net";
const options = {
  title: 'Drover: feedback <sentiment>',
  cspSource,
  scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/dashboard.js',
  styleUris: ['https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/dashboard.css'],
};

function policyOf(html: string): Map<string, string> {
  const content = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1];
  assert.ok(content, 'the page has a CSP meta tag');
  const decoded = content.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
  return new Map(decoded.split(';').map((directive) => {
    const [name, ...sources] = directive.trim().split(/\s+/);
    return [name, sources.join(' ')];
  }));
}

const nonceOf = (html: string) => /<script nonce="([^"]+)"/.exec(html)?.[1];

describe('webviewHtml', () => {
  it('allows nothing by default, no network at all, and only the nonce\'d script', () => {
    const html = webviewHtml(options);
    const policy = policyOf(html);
    const nonce = nonceOf(html);
    assert.equal(policy.get('default-src'), "'none'");
    assert.equal(policy.get('connect-src'), "'none'");
    assert.equal(policy.get('script-src'), `'nonce-${nonce}'`);
    assert.equal(policy.get('style-src'), cspSource);
    assert.equal(policy.get('font-src'), cspSource);
    assert.equal(policy.get('img-src'), `${cspSource} data:`);
    assert.doesNotMatch(html, /unsafe-inline|unsafe-eval/);
  });

  it('puts the nonce on the one script tag, which loads the given URI', () => {
    const html = webviewHtml(options);
    const scripts = html.match(/<script\b[^>]*>/g) ?? [];
    assert.equal(scripts.length, 1);
    assert.equal(scripts[0], `<script nonce="${nonceOf(html)}" src="${options.scriptUri}">`);
    assert.match(html, new RegExp(`<link rel="stylesheet" href="${options.styleUris[0].replace(/[.+*]/g, '\\$&')}">`));
  });

  it('has no inline style or event handler the CSP would have to allow', () => {
    const html = webviewHtml(options);
    assert.doesNotMatch(html, /<style|style=|\son\w+=/i);
  });

  it('makes a nonce of at least 128 random bits, different on every call', () => {
    const nonces = new Set(Array.from({ length: 50 }, () => nonceOf(webviewHtml(options))));
    assert.equal(nonces.size, 50);
    for (const nonce of nonces) {
      assert.ok(nonce);
      assert.match(nonce, /^[A-Za-z0-9_-]+$/, 'base64url, valid in a CSP nonce source');
      assert.ok(Buffer.from(nonce, 'base64url').length * 8 >= 128);
    }
    assert.notEqual(createNonce(), createNonce());
  });

  it('escapes the title and the URIs', () => {
    const html = webviewHtml({ ...options, scriptUri: 'https://x/a.js?"><script>alert(1)</script>' });
    assert.match(html, /<title>Drover: feedback &#60;sentiment&#62;<\/title>/);
    assert.equal((html.match(/<script\b/g) ?? []).length, 1);
  });

  it('refuses a cspSource that would end the directive or add another', () => {
    for (const bad of ['', "'self'; script-src *", 'https://a, https://b', 'https://a\nscript-src *']) {
      assert.throws(() => contentSecurityPolicy(bad, createNonce()), /cspSource must be a CSP source list/);
    }
  });
});
