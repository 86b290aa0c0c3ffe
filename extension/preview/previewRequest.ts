// What a record preview shows, built from where the user asked for it: a selection in a
// JSON / JSONL / CSV editor (written to a temporary file), such a file in the Explorer
// (read by the daemon from its start: never whole), or a job spec (its own source and
// prompt). Selections and small files also get totals from a full estimate.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type * as vscode from 'vscode';
import type { ParseError } from '../../webview/protocol/previewMessages';
import type { DroverSettings } from '../settings/droverSettings';
import { readSpecFile, type SpecSource } from '../specs/jobSpecFile';
import { formatOfFile, maxSelectionBytes, prepareSelection, SelectionError, type RecordFormat } from './recordSelection';

export interface PreviewRequest {
  /** e.g. `reviews.csv, lines 2–41`. */
  label: string;
  spec: SpecSource;
  /** Data files have no prompt yet: one is chosen from the records' fields. */
  chooseTemplate: boolean;
  /** Editor line for a line the daemon reports (selections live in a temporary file). */
  documentLine: (line: number) => number;
  parseErrors: ParseError[];
  /** Editor lines of the records in order, where the daemon reports none (JSON arrays). */
  recordLines: readonly number[];
  /** Whether the whole source is small enough to estimate for the totals. */
  estimateTotals: boolean;
  dispose(): Promise<void>;
}

/** A spec around records that have no job yet: the defaults and the user's settings. */
function previewSpec(settings: DroverSettings, path: string, format: RecordFormat): Record<string, unknown> {
  return {
    name: 'drover-preview',
    source: { type: 'file', path, format },
    // Replaced once the records' fields are known (see previewTemplate.ts).
    prompt: { template: '-' },
    model: settings.defaultModel,
    provider: { baseUrl: settings.providerBaseUrl },
    limits: { concurrency: Math.min(settings.limits.concurrency, 8), ...(settings.limits.rpm ? { rpm: settings.limits.rpm } : {}), ...(settings.limits.tpm ? { tpm: settings.limits.tpm } : {}) },
  };
}

export async function previewOfSelection(document: vscode.TextDocument, selection: vscode.Selection, settings: DroverSettings): Promise<PreviewRequest> {
  const format = formatOfFile(document.fileName);
  if (!format) throw new SelectionError(`${basename(document.fileName)} is not a JSON, JSONL or CSV file: Drover previews records from those.`);
  const prepared = prepareSelection({
    format,
    text: document.getText(selection),
    startLine: selection.start.line + 1,
    headerLine: document.lineAt(0).text,
  });
  const folder = await mkdtemp(join(tmpdir(), 'drover-preview-'));
  const file = join(folder, `selection.${format}`);
  await writeFile(file, prepared.content);
  const lastLine = selection.end.character === 0 && selection.end.line > selection.start.line ? selection.end.line : selection.end.line + 1;
  return {
    label: `${basename(document.fileName)}, lines ${selection.start.line + 1}–${lastLine}`,
    spec: { input: previewSpec(settings, file, format), baseDir: folder },
    chooseTemplate: true,
    documentLine: prepared.documentLine,
    parseErrors: prepared.parseErrors,
    recordLines: prepared.recordLines,
    estimateTotals: true,
    dispose: () => rm(folder, { recursive: true, force: true }),
  };
}

export async function previewOfFile(uri: vscode.Uri, settings: DroverSettings): Promise<PreviewRequest> {
  const format = formatOfFile(uri.fsPath);
  if (!format) throw new SelectionError(`${basename(uri.fsPath)} is not a JSON, JSONL or CSV file: Drover previews records from those.`);
  const size = (await stat(uri.fsPath)).size;
  return {
    label: basename(uri.fsPath),
    spec: { input: previewSpec(settings, uri.fsPath, format), baseDir: dirname(uri.fsPath), uri },
    chooseTemplate: true,
    documentLine: (line) => line,
    parseErrors: [],
    recordLines: [],
    // Totals need every record read; a large file is previewed from its start only.
    estimateTotals: size <= maxSelectionBytes,
    dispose: async () => undefined,
  };
}

export async function previewOfSpec(uri: vscode.Uri): Promise<PreviewRequest> {
  const spec = await readSpecFile(uri);
  return {
    label: `${basename(uri.fsPath)} (job spec)`,
    spec,
    chooseTemplate: false,
    documentLine: (line) => line,
    parseErrors: [],
    recordLines: [],
    // The source may be a database of millions of rows: "Estimate Cost" is the way to total it.
    estimateTotals: false,
    dispose: async () => undefined,
  };
}
