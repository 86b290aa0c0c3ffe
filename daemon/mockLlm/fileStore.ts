// The mock's /v1/files: uploaded batch inputs and the output and error files its batches
// write, kept in memory with OpenAI's file object shape.
import { ApiError, invalidRequest } from './errors';

export interface StoredFile {
  id: string;
  bytes: Buffer;
  filename: string;
  purpose: string;
  createdAt: number;
}

export function fileObject(file: StoredFile) {
  return {
    id: file.id,
    object: 'file',
    bytes: file.bytes.length,
    created_at: file.createdAt,
    filename: file.filename,
    purpose: file.purpose,
    status: 'processed',
    expires_at: null,
    status_details: null,
  };
}

export function fileNotFound(id: string): ApiError {
  return new ApiError(404, `No such File object: ${id}`, 'invalid_request_error', 'id');
}

export function fileTooLarge(bytes: number, limit: number): ApiError {
  return invalidRequest(`File is too large (${bytes} bytes): files with purpose "batch" may be at most ${limit} bytes.`, 'file', 'file_too_large');
}

export class FileStore {
  private readonly files = new Map<string, StoredFile>();

  add(file: StoredFile): StoredFile {
    this.files.set(file.id, file);
    return file;
  }

  get(id: string): StoredFile {
    const file = this.files.get(id);
    if (!file) throw fileNotFound(id);
    return file;
  }
}
