// Every file under a folder whose bytes contain a string: how the tests prove a secret was
// written nowhere (settings, state databases, ledgers, logs). Plain Node, so both the e2e
// tests and the extension-host suites use it.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function filesContaining(root: string, needle: string): string[] {
  const found: string[] = [];
  const bytes = Buffer.from(needle);
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && statSync(path).size > 0 && readFileSync(path).includes(bytes)) found.push(path);
    }
  };
  walk(root);
  return found;
}
