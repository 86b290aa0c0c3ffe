// Turns records waiting for a batch into the lines of one input file: packed exactly as the
// online path packs them (Packer), each line's body built by the same RequestBuilder, and
// the file cut before it passes either the line or the byte limit.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { BatchRecordRow } from '../ledger/batchLedger';
import { Packer } from '../pipeline/packer';
import type { ChatRequestBody, RequestBuilder, WireItem } from '../pipeline/requestBuilder';

export interface PlannedLine {
  records: BatchRecordRow[];
  body: ChatRequestBody;
}

export interface PlannedFile {
  lines: PlannedLine[];
  /** Bytes the file will have at most (custom_ids are not known yet). */
  bytes: number;
  /** A limit closed the file: more records would not have fitted. */
  full: boolean;
}

export interface FileLimits {
  maxRequestsPerFile: number;
  maxBytesPerFile: number;
  recordsPerRequest: number;
  maxPromptTokens: number;
}

/** Longer than any custom_id a submission gives (customIdOf), so byte counts are upper bounds. */
const widestCustomId = 'drover-999999999999-99999';

export class BatchFilePlanner {
  constructor(
    private readonly builder: RequestBuilder,
    private readonly model: string,
    private readonly maxOutputTokens: (records: number) => number,
    private readonly limits: FileLimits,
    private readonly encodeLine: (customId: string, body: ChatRequestBody) => string,
  ) {}

  /** Records a full file could take at most: fetch this many waiting records per plan. */
  get recordsPerFile(): number {
    return this.limits.maxRequestsPerFile * this.limits.recordsPerRequest;
  }

  plan(records: readonly BatchRecordRow[]): PlannedFile {
    const packer = new Packer<{ wire: WireItem; row: BatchRecordRow }>({
      recordsPerRequest: this.limits.recordsPerRequest,
      maxPromptTokens: this.limits.maxPromptTokens,
      overheadTokens: this.builder.overheadTokens,
    });
    const lines: PlannedLine[] = [];
    let bytes = 0;
    let full = false;
    const take = (group: { wire: WireItem; row: BatchRecordRow }[]): boolean => {
      const body = this.builder.build(this.model, group.map((item) => item.wire), this.maxOutputTokens(group.length));
      const size = Buffer.byteLength(this.encodeLine(widestCustomId, body)) + 1;
      // A single line larger than the limit still goes alone: the provider says what it thinks.
      if (lines.length > 0 && (lines.length >= this.limits.maxRequestsPerFile || bytes + size > this.limits.maxBytesPerFile)) return false;
      lines.push({ records: group.map((item) => item.row), body });
      bytes += size;
      return true;
    };
    for (const row of records) {
      for (const group of packer.add({ wire: { key: row.key, json: row.wireJson, tokens: row.tokens }, row })) {
        if (!take(group)) {
          full = true;
          return { lines, bytes, full };
        }
      }
    }
    const rest = packer.flush();
    if (rest && !take(rest)) full = true;
    if (lines.length >= this.limits.maxRequestsPerFile) full = true;
    return { lines, bytes, full };
  }
}

/** Writes the lines with their custom_ids; the file is what gets uploaded. */
export async function writeBatchFile(path: string, lines: readonly PlannedLine[], customIds: readonly string[], encodeLine: (customId: string, body: ChatRequestBody) => string): Promise<void> {
  const stream = createWriteStream(path, { mode: 0o600 });
  try {
    for (const [index, line] of lines.entries()) {
      if (!stream.write(`${encodeLine(customIds[index], line.body)}\n`)) await once(stream, 'drain');
    }
  } finally {
    stream.end();
    await once(stream, 'close');
  }
}
