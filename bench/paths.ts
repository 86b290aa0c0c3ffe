// Where the bench finds Drover's bundles and keeps its data.
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..');

export const paths = {
  root,
  cli: join(root, 'dist', 'cli.js'),
  daemon: join(root, 'dist', 'daemon.js'),
  /** Generated tables, specs, state dirs: reused between runs where they can be. */
  work: join(root, '.cache', 'bench'),
  naiveBundle: join(root, '.cache', 'bench', 'naive.js'),
  results: join(root, 'bench', 'results'),
  benchmarksMd: join(root, 'BENCHMARKS.md'),
};
