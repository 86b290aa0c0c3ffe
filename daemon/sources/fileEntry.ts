// What a file reader (JSONL, JSON array, CSV) hands the file source: one entry per line,
// element or row, in file order. The source turns entries into records and keys.

export interface FileEntryPlace {
  /** 1-based position among all entries of the file, in file order. */
  ordinal: number;
  /** The record's number when no key field is named: line (JSONL), element (JSON), data row (CSV). */
  position: number;
  /** Where it starts in the file, when the reader knows. */
  line?: number;
  /** For messages: `line 17`, `element 5`. */
  where: string;
  /** The ledger key should this entry fail: `line:17`, `element:5`. */
  failedKey: string;
}

export interface FileObjectEntry extends FileEntryPlace {
  kind: 'object';
  fields: Record<string, unknown>;
}

export interface FileProblemEntry extends FileEntryPlace {
  kind: 'problem';
  /** Starts with `where`, e.g. `line 17: not valid UTF-8`. */
  reason: string;
}

export type FileEntry = FileObjectEntry | FileProblemEntry;

export interface FileReadOptions {
  /** Entries with ordinal <= skip are passed over without being handed out (resume). */
  skip: number;
  signal?: AbortSignal;
}
