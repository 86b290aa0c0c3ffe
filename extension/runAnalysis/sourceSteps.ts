// The Run Analysis steps that choose the records: source type, file or connection, table
// or query, key, and the fields the prompt shows. The last hands over to `next` (the task).
import { basename } from 'node:path';
import * as vscode from 'vscode';
import type { DaemonConnection } from '../daemon/daemonConnection';
import { recordFields } from '../preview/previewTemplate';
import type { Step } from './multiStepInput';
import { isTextColumn, listColumns, listTables, queryColumns } from './sourceCatalog';
import { databaseOf, wizardSteps as totalSteps, wizardTitle as title, type WizardState as State } from './wizardState';

const lastPostgresUrl = 'drover.lastPostgresUrl';
const textNames = /^(text|review|comment|comments|body|content|message|feedback|description|summary|title)$/i;

export class SourceSteps {
  constructor(
    private readonly connection: DaemonConnection,
    /** Remembers the last Postgres URL between runs (not a secret: URLs carry no password). */
    private readonly memento: vscode.Memento,
    private readonly next: Step<State>,
  ) {}

  sourceType: Step<State> = async (input, state) => {
    const picked = await input.pick({
      title,
      step: 1,
      totalSteps,
      placeholder: 'Where are the records?',
      items: [
        { label: 'SQLite file', detail: 'a table or query in a .db / .sqlite file', type: 'sqlite' as const },
        { label: 'Postgres connection', detail: 'a table or query in a PostgreSQL database', type: 'postgres' as const },
        { label: 'JSON, JSONL or CSV file', detail: 'one record per line, row or array element', type: 'file' as const },
      ],
    });
    state.sourceType = picked.type;
    state.table = state.query = state.key = undefined;
    return picked.type === 'postgres' ? this.postgresUrl : this.file;
  };

  file: Step<State> = async (input, state) => {
    const glob = state.sourceType === 'sqlite' ? '**/*.{db,sqlite,sqlite3}' : '**/*.{json,jsonl,ndjson,csv}';
    const browse = { label: '$(folder-opened) Browse…', path: '' };
    const picked = await input.pick({
      title,
      step: 2,
      totalSteps,
      placeholder: state.sourceType === 'sqlite' ? 'The SQLite database' : 'The JSON, JSONL or CSV file',
      items: async () => {
        const found = await vscode.workspace.findFiles(glob, '**/{node_modules,.git}/**', 200);
        const files = found.filter((uri) => !uri.path.endsWith('.drover.json')).map((uri) => ({ label: vscode.workspace.asRelativePath(uri), path: uri.fsPath }));
        return [...files.sort((a, b) => a.label.localeCompare(b.label)), browse];
      },
    });
    let path = picked.path;
    if (!path) {
      const chosen = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Analyse', defaultUri: vscode.Uri.file(state.root) });
      if (!chosen?.[0]) return this.file;
      path = chosen[0].fsPath;
    }
    state.location = path;
    if (state.sourceType === 'sqlite') return this.table;
    const client = await this.connection.client();
    const spec = { name: 'drover-catalog', source: { type: 'file', path }, prompt: { template: '-' } };
    const { records } = await client.call('source.preview', { spec, limit: 20 });
    state.columns = recordFields(records).map((name) => ({ name, type: records.some((record) => typeof record.fields[name] === 'string') ? 'text' : '' }));
    if (state.columns.length === 0) throw new Error(`${basename(path)}: no record could be read from its start (see the Preview Records command for the lines at fault)`);
    return this.key;
  };

  postgresUrl: Step<State> = async (input, state) => {
    const value = await input.input({
      title,
      step: 2,
      totalSteps,
      value: this.memento.get<string>(lastPostgresUrl) ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      prompt: 'PostgreSQL connection URL, without a password (a job reads it from the variable named in source.passwordEnv)',
      validate: (text) => {
        let url: URL;
        try {
          url = new URL(text.trim());
        } catch {
          return 'Enter a URL: postgres://user@host:5432/database';
        }
        if (!/^postgres(ql)?:$/.test(url.protocol)) return 'The URL must start with postgres://';
        return url.password ? 'Leave the password out of the URL: the job file is saved in the workspace' : undefined;
      },
    });
    state.location = value.trim();
    await this.memento.update(lastPostgresUrl, state.location);
    return this.table;
  };

  table: Step<State> = async (input, state) => {
    const query = { label: '$(edit) Write a SQL query…', table: '' };
    const picked = await input.pick({
      title,
      step: 3,
      totalSteps,
      placeholder: 'The table to analyse',
      items: async () => {
        const client = await this.connection.client();
        const tables = await listTables(client, databaseOf(state));
        return [...tables.map((table) => ({ label: table, table })), query];
      },
    });
    const client = await this.connection.client();
    if (picked.table) {
      state.table = picked.table;
      state.query = undefined;
      state.columns = await listColumns(client, databaseOf(state), picked.table);
    } else {
      state.query = await input.input({ title, step: 3, totalSteps, value: state.query ?? 'SELECT ', prompt: 'One SELECT statement; its key column orders and identifies the records', validate: (text) => (/^\s*(select|with)\b/i.test(text) ? undefined : 'Write one SELECT (or WITH … SELECT) statement') });
      state.table = undefined;
      state.columns = await queryColumns(client, databaseOf(state), state.query);
    }
    if (state.columns.length === 0) throw new Error(`no columns found for ${state.table ?? 'the query'} (an empty result tells nothing)`);
    return this.key;
  };

  key: Step<State> = async (input, state) => {
    const lineNumber = { label: '(line or row number)', description: 'records are numbered in file order', name: '' };
    const columns = state.columns.map((column) => ({ label: column.name, description: column.type, name: column.name }));
    const picked = await input.pick({
      title,
      step: 4,
      totalSteps,
      placeholder: 'The key: it identifies each record, orders the reading and lets a job resume',
      items: state.sourceType === 'file' ? [lineNumber, ...columns] : columns,
      activeLabel: state.columns.find((column) => column.name.toLowerCase() === 'id')?.name,
    });
    state.key = picked.name || undefined;
    return this.fields;
  };

  fields: Step<State> = async (input, state) => {
    const candidates = state.columns.filter((column) => column.name !== state.key && !/[.{}]/.test(column.name));
    // The column named like text to analyse; else the text-typed ones; else the first.
    const byName = candidates.filter((column) => textNames.test(column.name));
    const byType = candidates.filter(isTextColumn);
    const preferred = new Set((byName.length > 0 ? byName : byType.length > 0 ? byType : candidates.slice(0, 1)).map((column) => column.name));
    const picked = await input.pickMany({
      title,
      step: 5,
      totalSteps,
      placeholder: 'The fields the model reads for each record (Enter to accept)',
      items: candidates.map((column) => ({ label: column.name, description: column.type, name: column.name })),
      selected: (item) => (state.fields.length > 0 ? state.fields.includes(item.name) : preferred.has(item.name)),
    });
    state.fields = picked.map((item) => item.name);
    return this.next;
  };
}
