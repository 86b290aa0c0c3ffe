// The `drover.*` settings, read and checked in one place. A value of the wrong shape is
// reported by its setting name (the user typed it in settings.json) instead of being
// passed on to fail somewhere less clear.
import { homedir } from 'node:os';
import * as vscode from 'vscode';
import { z } from 'zod';
import { stateDirectory } from '../../daemon/cli/stateDir';
import { priceSchema } from '../../daemon/spec/jobSpec';

const positiveOrNull = z.number().positive().nullable();

const settingsSchema = z.object({
  defaultModel: z.string().min(1),
  'provider.baseUrl': z.url(),
  'limits.concurrency': z.number().int().min(1).max(1024),
  'limits.rpm': positiveOrNull,
  'limits.tpm': positiveOrNull,
  'limits.budgetUsd': positiveOrNull,
  prices: z.record(z.string(), priceSchema),
  'daemon.nodePath': z.string(),
  stateDir: z.string(),
  'preview.records': z.number().int().min(1).max(200),
});

type SettingKey = keyof z.infer<typeof settingsSchema>;

export interface DroverSettings {
  defaultModel: string;
  providerBaseUrl: string;
  limits: { concurrency: number; rpm: number | null; tpm: number | null; budgetUsd: number | null };
  prices: Record<string, { inputPerMTok: number; outputPerMTok: number }>;
  nodePath: string;
  /** Absolute: the setting, else $DROVER_HOME, else ~/.drover. */
  stateDir: string;
  previewRecords: number;
}

/** A setting holds a value Drover cannot use; names it and says what it must be. */
export class SettingsError extends Error {
  override readonly name = 'SettingsError';

  constructor(readonly setting: string, message: string) {
    super(`Setting "${setting}": ${message}`);
  }
}

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? homedir() + path.slice(1) : path;
}

export function readSettings(config: vscode.WorkspaceConfiguration = vscode.workspace.getConfiguration('drover')): DroverSettings {
  const read = <K extends SettingKey>(key: K): z.infer<typeof settingsSchema>[K] => {
    const parsed = settingsSchema.shape[key].safeParse(config.get(key));
    if (!parsed.success) throw new SettingsError(`drover.${key}`, parsed.error.issues.map((issue) => issue.message).join('; '));
    return parsed.data as z.infer<typeof settingsSchema>[K];
  };
  const stateDir = read('stateDir').trim();
  return {
    defaultModel: read('defaultModel'),
    providerBaseUrl: read('provider.baseUrl'),
    limits: {
      concurrency: read('limits.concurrency'),
      rpm: read('limits.rpm'),
      tpm: read('limits.tpm'),
      budgetUsd: read('limits.budgetUsd'),
    },
    prices: read('prices'),
    nodePath: expandHome(read('daemon.nodePath').trim()),
    stateDir: stateDirectory(stateDir === '' ? undefined : expandHome(stateDir)),
    previewRecords: read('preview.records'),
  };
}

/** Opens the Settings editor on one setting (or all of Drover's). */
export function openSettings(setting = 'drover'): Thenable<unknown> {
  return vscode.commands.executeCommand('workbench.action.openSettings', setting);
}
