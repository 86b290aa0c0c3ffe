// Drives a code-server workbench in Debian's Chromium with playwright-core, as a user
// would (command palette, notifications, panels), and runs the extension-host suite there.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium, type FrameLocator, type Locator, type Page } from 'playwright-core';
import { extensionTestReportVariable } from '../extension/report';
import { type ExtensionTestReport, extensionTestReportSchema } from '../extension/reportSchema';
import { type CodeServer, remoteUri, stopDaemon, workbenchUrl } from './codeServer';

const chromiumPath = process.env.DROVER_CHROMIUM ?? '/usr/bin/chromium';
// No sandbox: tests run as root. The rest keeps Chromium from calling home.
const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const screenshotDir = resolve(__dirname, '..', '..', 'test-results', 'ui');

interface BrowserSession {
  context: BrowserContext;
  page: Page;
  /** The page's console, where the extension host's console output lands too. */
  consoleLines: string[];
  close(): Promise<void>;
}

async function launchBrowser(): Promise<BrowserSession> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium is not at ${chromiumPath}: install Debian's chromium package (see .ci/run)`);
  }
  const profile = await mkdtemp(join(tmpdir(), 'drover-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    args: chromiumArgs,
    headless: true,
    viewport: { width: 1280, height: 800 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleLines: string[] = [];
  page.on('console', (message) => consoleLines.push(`[${message.type()}] ${message.text()}`));
  page.on('pageerror', (error) => consoleLines.push(`[pageerror] ${error.message}`));
  return {
    context,
    page,
    consoleLines,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

function withConsole(what: string, cause: unknown, consoleLines: readonly string[]): Error {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new Error(`${what}: ${reason}\nBrowser console:\n${consoleLines.join('\n')}`, { cause });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface WorkbenchOptions {
  /** How long to wait for the workbench, and for a command to reach the palette. */
  timeoutMs?: number;
}

export interface Workbench {
  page: Page;
  consoleLines: readonly string[];
  /** Runs a command by its palette title ("Category: Title"), as a user would with F1. */
  runCommand(title: string): Promise<void>;
  /**
   * Picks the entry labelled `label` in the quick pick on screen (a command's own), once it
   * is there: each step of a wizard replaces the last in the same widget, so this waits for
   * the entry before typing it as a filter.
   */
  quickPick(label: string): Promise<void>;
  /**
   * Once the quick input on screen shows `prompt` (its message, title or placeholder: so it
   * is the step meant), types `value` into it (undefined keeps what it holds) and presses Enter.
   */
  quickInput(prompt: string, value?: string): Promise<void>;
  /** Opens a view container from the activity bar by its title ("Drover"). */
  openActivity(title: string): Promise<void>;
  /** A row of a tree or list in the side bar whose label is `label`. */
  sideBarRow(label: string): Locator;
  /** Opens a workspace file by its name through Quick Open (Ctrl+P) and focuses its editor. */
  openFile(name: string): Promise<void>;
  /** A notification toast that contains `text`, once it shows. */
  waitForNotification(text: string | RegExp, timeoutMs?: number): Promise<Locator>;
  /** Saves the page as test-results/ui/<name>.png and returns the file's path. */
  screenshot(name: string): Promise<string>;
  /** The page inside the webview on screen (the first, when two are side by side). */
  webviewFrame(): FrameLocator;
  close(): Promise<void>;
}

export async function openWorkbench(url: string, { timeoutMs = 60_000 }: WorkbenchOptions = {}): Promise<Workbench> {
  const session = await launchBrowser();
  const { page, consoleLines } = session;
  try {
    await page.goto(url);
    await page.locator('.monaco-workbench').waitFor({ timeout: timeoutMs });
  } catch (error) {
    await session.close();
    throw withConsole(`the workbench at ${url} did not load`, error, consoleLines);
  }

  // The quick input lists what is known when it opens (a fresh window is still registering
  // extensions' commands), and it closes when something that is still opening takes the
  // focus. So: reopen it until the entry is there and the click lands.
  const pick = async (shortcut: string, query: string, label: string) => {
    const quickInput = page.locator('.quick-input-widget');
    const row = quickInput.locator('.quick-input-list .monaco-list-row').filter({
      has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(label)}$`) }),
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await page.keyboard.press(shortcut);
        await quickInput.locator('input').fill(query, { timeout: 3_000 });
        await row.first().click({ timeout: 3_000 });
        break;
      } catch (error) {
        if (await quickInput.isVisible()) await page.keyboard.press('Escape');
        if (Date.now() > deadline) throw withConsole(`could not pick "${label}" after ${shortcut}`, error, consoleLines);
      }
    }
    // The pick is done when the widget closes — or, for a command that opens a quick input of
    // its own, when the widget no longer holds this query (a busy machine never shows it hidden).
    await page.waitForFunction(
      (typed) => {
        const widget = document.querySelector<HTMLElement>('.quick-input-widget');
        const input = widget?.querySelector('input');
        return !widget || widget.style.display === 'none' || widget.offsetParent === null || input?.value !== typed;
      },
      query,
      { timeout: 30_000 },
    );
  };

  const runCommand = (title: string) => pick('F1', `>${title}`, title);

  const quickInputWidget = page.locator('.quick-input-widget');
  // The row whose label is exactly `label` (codicons in labels render as icons, not text).
  const quickPickRow = (label: string) =>
    quickInputWidget.locator('.quick-input-list .monaco-list-row').filter({
      has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRegExp(label)}\\s*$`) }),
    });

  const quickPick = async (label: string) => {
    const row = quickPickRow(label).first();
    try {
      // Entries may still be loading (the picker shows a progress bar meanwhile); a long
      // list shows only what fits, so a filter brings the entry into view.
      const shown = await row.waitFor({ timeout: timeoutMs }).then(
        () => true,
        () => false,
      );
      if (!shown || !(await row.isVisible())) await quickInputWidget.locator('input').first().fill(label);
      await row.click({ timeout: timeoutMs });
    } catch (error) {
      throw withConsole(`could not pick "${label}" in the quick pick`, error, consoleLines);
    }
  };

  const quickInput = async (prompt: string, value?: string) => {
    const input = quickInputWidget.locator('input').first();
    const step = quickInputWidget
      .locator('.quick-input-message, .quick-input-title', { hasText: prompt })
      .or(quickInputWidget.locator(`input[placeholder*=${JSON.stringify(prompt)}]`));
    try {
      await step.first().waitFor({ timeout: timeoutMs });
      // A step may still be filling in its own value (a file dialog lists its folder first),
      // which would replace what was typed: type until the value stays.
      const deadline = Date.now() + timeoutMs;
      while (value !== undefined) {
        await input.fill(value);
        await page.waitForTimeout(150);
        if ((await input.inputValue()) === value) break;
        if (Date.now() > deadline) throw new Error(`the input kept "${await input.inputValue()}" instead`);
      }
      await input.press('Enter');
    } catch (error) {
      throw withConsole(`could not enter ${value === undefined ? 'the value' : `"${value}"`} after "${prompt}"`, error, consoleLines);
    }
  };

  const openActivity = async (title: string) => {
    const item = page.locator(`.activitybar [aria-label^="${title}"]`).first();
    await item.waitFor({ timeout: timeoutMs });
    const container = page.locator('.part.sidebar .composite.title', { hasText: title });
    if (!(await container.isVisible())) await item.click();
    await container.waitFor({ timeout: timeoutMs });
  };

  const sideBarRow = (label: string) =>
    page.locator('.part.sidebar .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(label)}$`) }) });

  const openFile = async (name: string) => {
    await pick('Control+P', name, name);
    await page.locator('.tabs-container .tab.active', { hasText: name }).waitFor({ timeout: timeoutMs });
    // Commands act on the focused editor, and a panel can keep the focus: click into the text.
    await page.locator('.editor-group-container.active .monaco-editor .view-lines').click();
  };

  const waitForNotification = async (text: string | RegExp, waitMs = timeoutMs) => {
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
    await toast.waitFor({ state: 'visible', timeout: waitMs });
    // Shown, and done sliding in: a screenshot taken now shows it whole.
    await page.locator('.notifications-toasts .notification-toast.notification-fade-in-done', { hasText: text }).first().waitFor({ timeout: waitMs });
    return toast;
  };

  const screenshot = async (name: string) => {
    if (!/^[\w.-]+$/.test(name)) throw new Error(`screenshot name "${name}" may hold only letters, digits, . _ -`);
    await mkdir(screenshotDir, { recursive: true });
    const path = join(screenshotDir, `${name}.png`);
    await page.screenshot({ path });
    return path;
  };

  // A webview is an iframe (the host) around another (#active-frame, the page itself);
  // hidden editors keep their iframes, so only a visible one counts.
  const webviewFrame = () =>
    page
      .locator('iframe.webview.ready')
      .filter({ visible: true })
      .first()
      .contentFrame()
      .locator('#active-frame')
      .contentFrame();

  const close = () => session.close();
  return { page, consoleLines, runCommand, quickPick, quickInput, openActivity, sideBarRow, openFile, waitForNotification, screenshot, webviewFrame, close };
}

export interface ExtensionTestRun {
  /** What the workbench reported when the suite ended: 0 when every test passed. */
  exitCode: number;
  report: ExtensionTestReport;
  /** The browser console, with the extension host's console output in it. */
  consoleLines: readonly string[];
}

/**
 * Runs the suite at `extensionTestsPath` (a bundle exporting `run()`) in the extension host
 * of a new window on `server`, as @vscode/test-electron does on desktop. The server must
 * have been started with `extensionDevelopmentPath` and with `env[extensionTestReportVariable]`
 * naming the file the suite writes its report to.
 */
export async function runExtensionTests(
  server: CodeServer,
  extensionTestsPath: string,
  { timeoutMs = 300_000 }: WorkbenchOptions = {},
): Promise<ExtensionTestRun> {
  const { extensionDevelopmentPath, env, workspace } = server.options;
  const reportPath = env?.[extensionTestReportVariable];
  if (!extensionDevelopmentPath || !reportPath) {
    throw new Error(`start code-server with extensionDevelopmentPath and env.${extensionTestReportVariable}`);
  }
  if (!existsSync(extensionTestsPath)) {
    throw new Error(`${extensionTestsPath} does not exist: build it with \`node esbuild.mjs\``);
  }
  await rm(reportPath, { force: true });

  const session = await launchBrowser();
  try {
    let reportExit: (code: number) => void = () => {};
    const exitCode = new Promise<number>((resolveExit) => (reportExit = resolveExit));
    // The workbench calls this, when present, with the suite's result once run() settles.
    await session.page.exposeFunction('codeAutomationExit', (code: number) => reportExit(code));
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`the suite did not finish within ${timeoutMs} ms`)), timeoutMs).unref(),
    );
    await session.page.goto(
      workbenchUrl(server.port, workspace, [
        ['extensionDevelopmentPath', remoteUri(server.port, extensionDevelopmentPath)],
        ['extensionTestsPath', remoteUri(server.port, extensionTestsPath)],
      ]),
    );
    const code = await Promise.race([exitCode, timeout]);
    if (!existsSync(reportPath)) {
      throw new Error(
        `the suite ended with exit code ${code} but wrote no report to ${reportPath}: ` +
          `did the extension host get ${extensionTestReportVariable}, or did a suite file fail to load?`,
      );
    }
    const report = extensionTestReportSchema.parse(JSON.parse(await readFile(reportPath, 'utf8')));
    return { exitCode: code, report, consoleLines: [...session.consoleLines] };
  } catch (error) {
    throw withConsole('the extension-host suite did not complete', error, session.consoleLines);
  } finally {
    await session.close();
  }
}

/** Tears down what a UI test file started, in order, whatever of it exists. */
export async function tearDownWorkbench(parts: {
  workbench?: Workbench;
  home: string;
  server?: { stop(): Promise<void> };
  mock?: { close(): Promise<void> };
  scratch: string;
}): Promise<void> {
  await parts.workbench?.close();
  await stopDaemon(parts.home);
  await parts.server?.stop();
  await parts.mock?.close();
  await rm(parts.scratch, { recursive: true, force: true });
}
