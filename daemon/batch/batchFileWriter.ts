// Writes the input file of one submission from the records waiting for a batch: packed
// exactly as the online path packs them (Packer), each line's body built by the same
// RequestBuilder, the file cut before it passes either the line or the byte limit. It reads
// the waiting records a page at a time and writes each line as it is made, so memory stays
// bounded whatever the file's size (up to 200 MB at OpenAI), and it assigns each record to
// its line in the ledger as the line is written.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { costUsd } from '../cost/prices';
import { customIdOf, type BatchLedger, type BatchRecordRow } from '../ledger/batchLedger';
import { Packer } from '../pipeline/packer';
import type { ChatRequestBody, RequestBuilder, WireItem } from '../pipeline/requestBuilder';
import type { Price } from '../spec/jobSpec';

export interface FileLimits {
  maxRequestsPerFile: number;
  maxBytesPerFile: number;
  recordsPerRequest: number;
  maxPromptTokens: number;
}

export interface WrittenFile {
  lines: number;
  records: number;
  bytes: number;
  /** Every line's prompt plus its whole max_tokens allowance, at the batch price. */
  worstCaseUsd: number;
}

export interface FileWriterParts {
  builder: RequestBuilder;
  model: string;
  price: Price | undefined;
  maxOutputTokens(records: number): number;
  encodeLine(customId: string, body: ChatRequestBody): string;
  limits: FileLimits;
}

type Packed = { wire: WireItem; row: BatchRecordRow };

const recordsPerPage = 2000;

export class BatchFileWriter {
  constructor(private readonly parts: FileWriterParts) {}

  /** The most records one file can take (a full file's worth). */
  get recordsPerFile(): number {
    return this.parts.limits.maxRequestsPerFile * this.parts.limits.recordsPerRequest;
  }

  async write(path: string, submissionId: number, batches: BatchLedger, maxSubmissions: number): Promise<WrittenFile> {
    const { builder, limits } = this.parts;
    const packer = new Packer<Packed>({ recordsPerRequest: limits.recordsPerRequest, maxPromptTokens: limits.maxPromptTokens, overheadTokens: builder.overheadTokens });
    const stream = createWriteStream(path, { mode: 0o600 });
    const file: WrittenFile = { lines: 0, records: 0, bytes: 0, worstCaseUsd: 0 };
    let assigned: { customId: string; keys: string[] }[] = [];
    let full = false;
    const emit = async (group: Packed[]) => {
      const wires = group.map((item) => item.wire);
      const maxOutput = this.parts.maxOutputTokens(group.length);
      const customId = customIdOf(submissionId, file.lines);
      const text = `${this.parts.encodeLine(customId, builder.build(this.parts.model, wires, maxOutput))}\n`;
      const size = Buffer.byteLength(text);
      // A single line larger than the limit still goes alone: the provider says what it thinks.
      if (file.lines > 0 && (file.lines >= limits.maxRequestsPerFile || file.bytes + size > limits.maxBytesPerFile)) {
        full = true;
        return;
      }
      if (!stream.write(text)) await once(stream, 'drain');
      assigned.push({ customId, keys: group.map((item) => item.row.key) });
      file.lines += 1;
      file.records += group.length;
      file.bytes += size;
      file.worstCaseUsd += costUsd(this.parts.price, builder.promptTokens(wires), maxOutput);
    };
    try {
      let after = { ordinal: 0, key: '' };
      while (!full) {
        const rows = batches.waiting(maxSubmissions, after, recordsPerPage);
        if (rows.length === 0) break;
        for (const row of rows) {
          for (const group of packer.add({ wire: { key: row.key, json: row.wireJson, tokens: row.tokens }, row })) {
            if (!full) await emit(group);
          }
          if (full) break;
        }
        batches.assign(submissionId, assigned);
        assigned = [];
        const last = rows.at(-1) as BatchRecordRow;
        after = { ordinal: last.ordinal, key: last.key };
      }
      const rest = full ? undefined : packer.flush();
      if (rest) await emit(rest);
      batches.assign(submissionId, assigned);
    } finally {
      stream.end();
      await once(stream, 'close');
    }
    return file;
  }
}
