// The entry VS Code's extension host loads as `extensionTestsPath` (code-server in a browser
// here, @vscode/test-electron on a desktop): runs every `*.suite.js` bundled beside this
// file with mocha and rejects when one fails, which is how the host learns the exit code.
import Mocha from 'mocha';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { extensionTestReportVariable } from './report';

export function run(): Promise<void> {
  const reportPath = process.env[extensionTestReportVariable];
  const mocha = new Mocha({
    ui: 'bdd',
    color: false,
    // The first command in a fresh window activates extensions and opens views.
    timeout: 60_000,
    ...(reportPath ? { reporter: 'json', reporterOptions: { output: reportPath } } : { reporter: 'spec' }),
  });
  const suites = readdirSync(__dirname).filter((name) => name.endsWith('.suite.js'));
  if (suites.length === 0) return Promise.reject(new Error(`no *.suite.js files beside ${__filename}`));
  for (const name of suites.sort()) mocha.addFile(join(__dirname, name));

  return new Promise((resolve, reject) => {
    try {
      mocha.run((failures) => {
        if (failures > 0) reject(new Error(`${failures} extension test(s) failed`));
        else resolve();
      });
    } catch (error) {
      // A suite file that throws while loading lands here, before any test runs.
      reject(error instanceof Error ? error : new Error(String(error)));
    }
  });
}
