// Builds every bundle Drover ships: the extension (VS Code's Node host), the CLI and the
// daemon (plain Node) and the webview scripts (browser). `--watch` rebuilds on change,
// `--production` minifies and drops source maps.
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

// Native or optional modules are loaded from node_modules at run time, never bundled.
const nodeExternals = ['better-sqlite3', 'pg-native'];

const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'info',
  legalComments: 'none',
};

const nodeCommon = {
  ...common,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: nodeExternals,
  // Prefer ESM entry points: jsonc-parser's UMD build loads its parts with a dynamic require.
  mainFields: ['module', 'main'],
};

/** @type {esbuild.BuildOptions[]} */
const builds = [
  {
    ...nodeCommon,
    entryPoints: { extension: 'extension/extension.ts' },
    outdir: 'dist',
    external: [...nodeExternals, 'vscode'],
  },
  {
    ...nodeCommon,
    entryPoints: { cli: 'daemon/cli/main.ts', daemon: 'daemon/server/main.ts', jobWorker: 'daemon/pipeline/jobWorker.ts' },
    outdir: 'dist',
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    // The extension's integration suite, loaded by VS Code's extension host (which has no
    // tsx): the runner and one bundle per suite file, which the runner finds beside itself.
    // mocha stays external so the runner and the suites share its one instance.
    ...nodeCommon,
    entryPoints: ['test/extension/index.ts', 'test/extension/**/*.suite.ts'],
    outbase: 'test/extension',
    outdir: 'dist/test/extension',
    external: [...nodeExternals, 'vscode', 'mocha'],
  },
  {
    ...common,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    entryPoints: { dashboard: 'webview/dashboard/main.ts', preview: 'webview/preview/main.ts' },
    outdir: 'dist/webview',
    loader: { '.css': 'css' },
  },
];

// The JSON Schema that editors use for *.drover.json is generated from the zod spec by the
// freshly built CLI, so the schema and the validator can never disagree.
const writeJobSchema = {
  name: 'job-schema',
  setup(build) {
    build.onEnd((result) => {
      if (result.errors.length > 0) return;
      chmodSync('dist/cli.js', 0o755);
      execFileSync(process.execPath, ['dist/cli.js', 'schema', '--out', 'dist/job.schema.json']);
    });
  },
};
builds[1].plugins = [writeJobSchema];

if (watch) {
  const contexts = await Promise.all(builds.map((options) => esbuild.context(options)));
  await Promise.all(contexts.map((context) => context.watch()));
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
}
