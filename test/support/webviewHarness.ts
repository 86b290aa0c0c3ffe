// Runs the real webview bundles in Debian's Chromium the way VS Code hosts them: a page from
// a localhost server with the HTML shell and CSP the extension uses, VS Code's theme
// variables on <html>, and a stand-in for `acquireVsCodeApi` through which the test plays the
// extension's side of postMessage and sees what the webview posts back.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { webviewHtml } from '../../extension/webview/webviewHtml';
import { type WebviewThemeName, webviewThemes } from './webviewThemes';

const repoRoot = resolve(__dirname, '..', '..');
const bundleDir = join(repoRoot, 'dist', 'webview');
const screenshotDir = join(repoRoot, 'test-results', 'ui');
const chromiumPath = process.env.DROVER_CHROMIUM ?? '/usr/bin/chromium';
// No sandbox: tests run as root. The rest keeps Chromium from calling home.
const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export type WebviewKind = 'dashboard' | 'preview';
export type PostedMessage = { type: string } & Record<string, unknown>;

export interface WebviewPage {
  readonly page: Page;
  /** What the webview posted to the "extension", in order. */
  readonly posted: readonly PostedMessage[];
  /** Delivers a message as the extension's `webview.postMessage` would. */
  send(message: unknown): Promise<void>;
  /** The `count`-th message of this type the webview posted (waits for it). */
  waitForPosted(type: string, count?: number): Promise<PostedMessage>;
  /** Console errors and warnings, uncaught exceptions, CSP violations, failed requests. */
  problems(): string[];
  setTheme(theme: WebviewThemeName): Promise<void>;
  screenshot(name: string): Promise<string>;
}

export interface WebviewHarness {
  /** The page's origin, which plays `webview.cspSource`. */
  readonly origin: string;
  open(kind: WebviewKind, theme: WebviewThemeName): Promise<WebviewPage>;
  close(): Promise<void>;
}

/**
 * Runs in the page before its scripts: VS Code's API object, its theme, and a CSP tripwire.
 * Plain JavaScript in a string, because tsx rewrites a TypeScript function with helpers
 * (`__name`) that do not exist in the page. `theme` is the argument's JSON.
 */
const webviewHostScript = (theme: object) => `(() => {
  const theme = ${JSON.stringify(theme)};
  const stateKey = 'drover-webview-state';
  let acquired = false;
  window.acquireVsCodeApi = () => {
    // VS Code allows one acquisition per page; a second one is a webview bug.
    if (acquired) throw new Error('An instance of the VS Code API has already been acquired');
    acquired = true;
    return Object.freeze({
      postMessage: (message) => window.droverPostToExtension(JSON.parse(JSON.stringify(message))),
      getState: () => {
        const saved = sessionStorage.getItem(stateKey);
        return saved === null ? undefined : JSON.parse(saved);
      },
      setState: (state) => {
        sessionStorage.setItem(stateKey, JSON.stringify(state));
        return state;
      },
    });
  };
  document.addEventListener('securitypolicyviolation', (event) => {
    console.error('CSP violation: ' + event.violatedDirective + ' blocked ' + (event.blockedURI || 'inline code'));
  });
  window.droverApplyTheme = (next) => {
    for (const [name, value] of Object.entries(next.variables)) document.documentElement.style.setProperty(name, value);
    document.body.classList.remove('vscode-light', 'vscode-dark', 'vscode-high-contrast');
    document.body.classList.add(next.bodyClass);
    document.body.dataset.vscodeThemeKind = next.bodyClass;
  };
  // VS Code styles the document before the webview's script runs: the <body> exists by then.
  new MutationObserver((records, observer) => {
    if (document.body === null) return;
    observer.disconnect();
    window.droverApplyTheme(theme);
  }).observe(document, { childList: true, subtree: true });
})();`;

async function servePages(): Promise<{ server: Server; origin: string }> {
  for (const bundle of ['dashboard.js', 'dashboard.css', 'preview.js', 'preview.css']) {
    if (!existsSync(join(bundleDir, bundle))) throw new Error(`${join(bundleDir, bundle)} is missing: run \`node esbuild.mjs\` first`);
  }
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path === '/favicon.ico') {
      response.writeHead(204).end();
      return;
    }
    const page = /^\/(dashboard|preview)$/.exec(path);
    if (page !== null) {
      const kind = page[1];
      const html = webviewHtml({
        title: kind === 'dashboard' ? 'Drover job' : 'Drover record preview',
        cspSource: origin,
        scriptUri: `${origin}/webview/${kind}.js`,
        styleUris: [`${origin}/webview/${kind}.css`],
      });
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      return;
    }
    const asset = /^\/webview\/([\w-]+\.(js|css|map))$/.exec(path);
    if (asset === null) {
      response.writeHead(404).end();
      return;
    }
    const type = { js: 'text/javascript', css: 'text/css', map: 'application/json' }[asset[2] as 'js' | 'css' | 'map'];
    readFile(join(bundleDir, asset[1])).then(
      (body) => response.writeHead(200, { 'content-type': `${type}; charset=utf-8` }).end(body),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, origin };
}

export async function startWebviewHarness(): Promise<WebviewHarness> {
  if (!existsSync(chromiumPath)) throw new Error(`Chromium is not at ${chromiumPath}: install Debian's chromium package (see .ci/run)`);
  const { server, origin } = await servePages();
  const profile = await mkdtemp(join(tmpdir(), 'drover-webview-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      args: chromiumArgs,
      headless: true,
      viewport: { width: 1200, height: 900 },
    });
  } catch (error) {
    server.close();
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
  await mkdir(screenshotDir, { recursive: true });
  return {
    origin,
    open: (kind, theme) => openWebview(context, `${origin}/${kind}`, theme),
    close: async () => {
      await context.close();
      await new Promise((resolveClose) => server.close(resolveClose));
      await rm(profile, { recursive: true, force: true });
    },
  };
}

async function openWebview(context: BrowserContext, url: string, theme: WebviewThemeName): Promise<WebviewPage> {
  const page = await context.newPage();
  const posted: PostedMessage[] = [];
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`[console.${message.type()}] ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`[pageerror] ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`[requestfailed] ${request.url()} ${request.failure()?.errorText ?? ''}`));
  await page.exposeFunction('droverPostToExtension', (message: PostedMessage) => posted.push(message));
  await page.addInitScript({ content: webviewHostScript(webviewThemes[theme]) });
  await page.goto(url);

  const countOf = (type: string) => posted.filter((message) => message.type === type).length;
  return {
    page,
    posted,
    send: async (message) => {
      await page.evaluate((data) => window.postMessage(data, '*'), message);
    },
    waitForPosted: async (type, count = 1) => {
      const deadline = Date.now() + 10_000;
      while (countOf(type) < count) {
        if (Date.now() > deadline) throw new Error(`the webview did not post "${type}" ${count} time(s); it posted ${JSON.stringify(posted)}\n${problems.join('\n')}`);
        await new Promise((resolveWait) => setTimeout(resolveWait, 20));
      }
      return posted.filter((message) => message.type === type)[count - 1];
    },
    problems: () => [...problems],
    setTheme: async (next) => {
      await page.evaluate((variables) => (window as unknown as { droverApplyTheme: (theme: unknown) => void }).droverApplyTheme(variables), webviewThemes[next]);
    },
    screenshot: async (name) => {
      const path = join(screenshotDir, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
  };
}
