// Every message between the record preview webview and the extension, in both directions.
// A leaf module (zod and the daemon's protocol only) that both sides import.
import { z } from 'zod';
import { previewRecordSchema } from '../../daemon/protocol/estimate';

export const parseErrorSchema = z.object({
  /** 1-based line in the file (or in the selection's file) that could not be read. */
  line: z.number().int().positive(),
  message: z.string(),
});
export type ParseError = z.infer<typeof parseErrorSchema>;

export const recordAnswerSchema = z.object({
  key: z.string(),
  /** The validated answer; null when the record failed. */
  output: z.record(z.string(), z.unknown()).nullable(),
  error: z.string().nullable(),
});
export type RecordAnswer = z.infer<typeof recordAnswerSchema>;

// --- extension → webview -----------------------------------------------------------------

export const previewContentSchema = z.object({
  type: z.literal('preview'),
  /** What is previewed, e.g. `reviews.csv, lines 2–41`. */
  source: z.string(),
  model: z.string(),
  system: z.string().nullable(),
  template: z.string(),
  /** The first records, as the model would see them. */
  records: z.array(previewRecordSchema),
  /** The whole selection or file, where known (it may hold more records than are shown). */
  totals: z.object({
    records: z.number().int().nonnegative().nullable(),
    inputTokens: z.number().nonnegative().nullable(),
    estimatedCostUsd: z.number().nonnegative().nullable(),
  }),
});
export type PreviewContent = z.infer<typeof previewContentSchema>;

export const extensionToPreviewSchema = z.discriminatedUnion('type', [
  previewContentSchema,
  z.object({ type: z.literal('parseErrors'), errors: z.array(parseErrorSchema) }),
  /** Where "Run on these records" is: `running` with what it does, then `done` or `failed`. */
  z.object({ type: z.literal('runStatus'), state: z.enum(['running', 'done', 'failed']), message: z.string() }),
  /** Answers as they come, any number of messages per run. */
  z.object({ type: z.literal('answers'), answers: z.array(recordAnswerSchema) }),
]);
export type ExtensionToPreview = z.infer<typeof extensionToPreviewSchema>;

// --- webview → extension -----------------------------------------------------------------

export const previewToExtensionSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  /** Run the task on just these records (those that rendered), answers come as `answers`. */
  z.object({ type: z.literal('runOnThese'), keys: z.array(z.string()).min(1) }),
  /** Render the same records again with this template; a new `preview` answers. */
  z.object({ type: z.literal('changeTemplate'), template: z.string().min(1) }),
]);
export type PreviewToExtension = z.infer<typeof previewToExtensionSchema>;
