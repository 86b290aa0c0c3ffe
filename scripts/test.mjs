// `npm test`: build, typecheck, lint, then every test file under test/ with node's own
// test runner. Files named *.serial.test.ts disturb shared services (they restart Postgres,
// for one), so they run first, one at a time; everything else then runs in parallel, and
// that run's summary is the last thing printed. `npm test -- FILE|DIR …` runs only those
// tests (after the build) and skips typecheck and lint.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const selected = process.argv.slice(2);
const failures = [];

function step(label, command, args, { keepGoing = false } = {}) {
  process.stdout.write(`\n▶ ${label}\n`);
  const result = spawnSync(command, args, { stdio: 'inherit' });
  if (result.status === 0) return;
  if (!keepGoing) {
    process.stdout.write(`\n✖ ${label} failed\n`);
    process.exit(result.status ?? 1);
  }
  failures.push(label);
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

const runner = (concurrency, files) => [
  '--import',
  'tsx',
  '--test',
  '--test-reporter=spec',
  `--test-concurrency=${concurrency}`,
  '--test-timeout=600000',
  ...files,
];

const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
step('build', process.execPath, ['esbuild.mjs']);
if (selected.length === 0) {
  step('typecheck', npx, ['tsc', '--noEmit']);
  step('lint', npx, ['eslint', '.']);
}
const files = (selected.length > 0 ? selected : ['test']).flatMap(testFiles);
const serial = files.filter((file) => file.endsWith('.serial.test.ts'));
const parallel = files.filter((file) => !file.endsWith('.serial.test.ts'));
if (serial.length > 0) step(`serial tests (${serial.length} files, one at a time)`, process.execPath, runner(1, serial), { keepGoing: true });
if (parallel.length > 0) {
  step(`tests (${parallel.length} files)`, process.execPath, runner(process.env.DROVER_TEST_CONCURRENCY ?? 2, parallel), { keepGoing: true });
}
if (failures.length > 0) {
  process.stdout.write(`\n✖ failed: ${failures.join('; ')}\n`);
  process.exit(1);
}
