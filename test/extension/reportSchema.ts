// The JSON report mocha's `json` reporter writes for the extension-host suite (index.ts).
import { z } from 'zod';

const testResultSchema = z.object({
  title: z.string(),
  fullTitle: z.string(),
  duration: z.number().optional(),
  // mocha writes `{}` for a test without an error.
  err: z.object({ message: z.string().optional(), stack: z.string().optional() }).loose(),
});

export const extensionTestReportSchema = z.object({
  stats: z.object({
    suites: z.number(),
    tests: z.number(),
    passes: z.number(),
    pending: z.number(),
    failures: z.number(),
  }),
  tests: z.array(testResultSchema),
  passes: z.array(testResultSchema),
  failures: z.array(testResultSchema),
  pending: z.array(testResultSchema),
});

export type ExtensionTestReport = z.infer<typeof extensionTestReportSchema>;
