// Picks the sink the spec names.
import type { JobSpec, SinkSpec } from '../spec/jobSpec';
import { CsvSink } from './csvSink';
import { JsonlSink } from './jsonlSink';
import { openPostgresSink } from './postgresSink';
import { defaultResultsTable } from '../sql/identifiers';
import { SinkError, type ResultSink } from './sink';
import { SqliteSink } from './sqliteSink';

export async function openSink(sink: SinkSpec, spec: JobSpec): Promise<ResultSink> {
  switch (sink.type) {
    case 'jsonl':
      return new JsonlSink(sink.path);
    case 'csv':
      return new CsvSink(sink.path, spec.output);
    case 'sqlite': {
      const path = sink.path ?? (spec.source.type === 'sqlite' ? spec.source.path : undefined);
      if (!path) throw new SinkError('sink.path is required for a sqlite sink unless the source is a sqlite database');
      return new SqliteSink(path, sink.table ?? defaultResultsTable(spec.name), spec.output);
    }
    case 'postgres': {
      const source = spec.source.type === 'postgres' ? spec.source : undefined;
      return openPostgresSink(sink, {
        jobName: spec.name,
        outputSchema: spec.output,
        ...(source ? { sourceUrl: source.url } : {}),
        ...(source?.passwordEnv ? { sourcePasswordEnv: source.passwordEnv } : {}),
      });
    }
  }
}
