// Turns selected text in a JSON, JSONL or CSV editor into a small file the daemon's file
// source can read, and maps that file's line numbers back to the editor's, so a parse
// error names the line the user sees. A CSV selection below the header gets the header
// line in front; a JSON selection of objects inside an array gets brackets around it.
// Pure: no `vscode`, no file system.
import { parse, parseTree, printParseErrorCode, type ParseError } from 'jsonc-parser';
import type { ParseError as PreviewParseError } from '../../webview/protocol/previewMessages';

export type RecordFormat = 'jsonl' | 'json' | 'csv';

/** Selections larger than this are refused: a preview is about a handful of records. */
export const maxSelectionBytes = 5 * 1024 * 1024;

export interface SelectionInput {
  format: RecordFormat;
  text: string;
  /** 1-based line of the editor where the selection starts. */
  startLine: number;
  /** The document's first line, for CSV selections that start below it. */
  headerLine: string;
}

export interface PreparedSelection {
  format: RecordFormat;
  /** What goes into the temporary file. */
  content: string;
  /** The editor's line for a line of `content`. */
  documentLine: (contentLine: number) => number;
  /** Syntax errors found before the daemon sees anything (JSON only), by editor line. */
  parseErrors: PreviewParseError[];
  /**
   * The editor line each record starts on, in record order, where the daemon's reader
   * reports none (the elements of a JSON array); empty otherwise.
   */
  recordLines: number[];
}

export class SelectionError extends Error {
  override readonly name = 'SelectionError';
}

export function formatOfFile(path: string): RecordFormat | null {
  const lower = path.toLowerCase();
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.json') && !lower.endsWith('.drover.json')) return 'json';
  return null;
}

export function prepareSelection(input: SelectionInput): PreparedSelection {
  if (Buffer.byteLength(input.text) > maxSelectionBytes) {
    throw new SelectionError(`The selection is larger than ${maxSelectionBytes / 1024 / 1024} MB: select fewer records to preview (or preview the whole file from the Explorer).`);
  }
  if (input.text.trim() === '') throw new SelectionError('The selection is empty: select the records to preview.');
  switch (input.format) {
    case 'jsonl':
      return { format: 'jsonl', content: input.text, documentLine: (line) => input.startLine + line - 1, parseErrors: [], recordLines: [] };
    case 'csv':
      return prepareCsv(input);
    case 'json':
      return prepareJson(input);
  }
}

function prepareCsv(input: SelectionInput): PreparedSelection {
  if (input.startLine <= 1) {
    return { format: 'csv', content: input.text, documentLine: (line) => line, parseErrors: [], recordLines: [] };
  }
  // The header is line 1 of both; the selection's first line is the file's line 2.
  return {
    format: 'csv',
    content: `${input.headerLine}\n${input.text}`,
    documentLine: (line) => (line === 1 ? 1 : input.startLine + line - 2),
    parseErrors: [],
    recordLines: [],
  };
}

function prepareJson(input: SelectionInput): PreparedSelection {
  const trimmed = input.text.trim();
  // Text before the first non-blank character shifts lines too.
  const leadingLines = input.text.slice(0, input.text.indexOf(trimmed[0])).split('\n').length - 1;
  let content: string;
  let documentLine: (line: number) => number;
  if (trimmed.startsWith('[')) {
    content = input.text;
    documentLine = (line) => input.startLine + line - 1;
  } else if (trimmed.startsWith('{')) {
    // Objects picked out of an array: `{…},\n{…},` becomes `[\n{…},\n{…}\n]`.
    content = `[\n${trimmed.replace(/,\s*$/, '')}\n]`;
    documentLine = (line) => input.startLine + leadingLines + line - 2;
  } else {
    throw new SelectionError('Select a JSON array, or one or more whole objects ({…}) from one.');
  }
  const lineAt = (offset: number) => documentLine(content.slice(0, offset).split('\n').length);
  const errors: ParseError[] = [];
  parse(content, errors, { allowTrailingComma: false, disallowComments: true });
  const parseErrors = errors.slice(0, 20).map((error) => ({ line: Math.max(1, lineAt(error.offset)), message: `not valid JSON: ${printParseErrorCode(error.error)}` }));
  const elements = errors.length === 0 ? (parseTree(content)?.children ?? []) : [];
  return { format: 'json', content, documentLine, parseErrors, recordLines: elements.map((element) => lineAt(element.offset)) };
}
