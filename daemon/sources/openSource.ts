// The one place that turns a job's `source` spec into a RecordSource.
import type { SourceSpec } from '../spec/jobSpec';
import { openFileSource } from './fileSource';
import { openPostgresSource } from './postgresSource';
import type { RecordSource } from './source';
import { openSqliteSource } from './sqliteSource';

export async function openSource(spec: SourceSpec): Promise<RecordSource> {
  switch (spec.type) {
    case 'sqlite':
      return openSqliteSource(spec);
    case 'file':
      return openFileSource(spec);
    case 'postgres':
      return openPostgresSource(spec);
  }
}
