// `npm test`: build, typecheck, lint, then every test file under test/ with node's own
// test runner (its summary is the last thing printed). `npm test -- FILE|DIR …` runs only
// those tests (after the build) and skips typecheck and lint.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const selected = process.argv.slice(2);

function step(label, command, args) {
  process.stdout.write(`\n▶ ${label}\n`);
  const result = spawnSync(command, args, { stdio: 'inherit' });
  if (result.status !== 0) {
    process.stdout.write(`\n✖ ${label} failed\n`);
    process.exit(result.status ?? 1);
  }
}

function testFiles(path) {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .flatMap((entry) => {
      const child = join(path, entry.name);
      if (entry.isDirectory()) return testFiles(child);
      return entry.name.endsWith('.test.ts') ? [child] : [];
    })
    .sort();
}

const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
step('build', process.execPath, ['esbuild.mjs']);
if (selected.length === 0) {
  step('typecheck', npx, ['tsc', '--noEmit']);
  step('lint', npx, ['eslint', '.']);
}
const files = (selected.length > 0 ? selected : ['test']).flatMap(testFiles);
step(`tests (${files.length} files)`, process.execPath, [
  '--import',
  'tsx',
  '--test',
  '--test-reporter=spec',
  `--test-concurrency=${process.env.DROVER_TEST_CONCURRENCY ?? 2}`,
  '--test-timeout=600000',
  ...files,
]);
