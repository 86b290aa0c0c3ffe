// A `*.drover.json` as the daemon needs it: the spec object (comments and trailing commas
// allowed, as the editor shows them), the folder its relative paths start from, and the
// provider endpoints whose keys the job needs. The text comes from the editor when the
// file is open, so unsaved edits are what runs.
import { dirname } from 'node:path';
import * as vscode from 'vscode';
import { parseJsonWithPosition } from '../../daemon/spec/loadSpec';
import { jobSpecSchema } from '../../daemon/spec/jobSpec';

export interface SpecSource {
  input: Record<string, unknown>;
  /** Absolute: relative paths in the spec are resolved against it (the file's folder). */
  baseDir: string;
  /** The file, when the spec came from one. */
  uri?: vscode.Uri;
}

export const specFileGlob = '**/*.drover.json';

export function isSpecFile(uri: vscode.Uri): boolean {
  return uri.path.toLowerCase().endsWith('.drover.json');
}

export async function readSpecFile(uri: vscode.Uri): Promise<SpecSource> {
  const open = vscode.workspace.textDocuments.find((document) => document.uri.toString() === uri.toString());
  const text = open ? open.getText() : new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  const value = parseJsonWithPosition(text, vscode.workspace.asRelativePath(uri));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${vscode.workspace.asRelativePath(uri)} must hold one JSON object (a Drover job spec)`);
  }
  return { input: value as Record<string, unknown>, baseDir: dirname(uri.fsPath), uri };
}

/** The base URLs the job calls (primary and fallbacks), as the spec spells them. */
export function endpointBaseUrls(input: Record<string, unknown>): string[] {
  const parsed = jobSpecSchema.safeParse(input);
  // An invalid spec is sent anyway: the daemon's answer names every problem.
  if (!parsed.success) return [];
  const { provider } = parsed.data;
  return [provider.baseUrl, ...provider.fallbacks.map((endpoint) => endpoint.baseUrl)];
}

export function specName(input: Record<string, unknown>): string | undefined {
  return typeof input.name === 'string' ? input.name : undefined;
}
