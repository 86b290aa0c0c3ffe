// The extension host's console reaches only the browser's console, so the runner writes
// mocha's JSON report to the file this variable names, and the launcher that set the
// variable reads it back (see reportSchema.ts). Kept apart from the schema so the runner's
// bundle does not carry zod.
export const extensionTestReportVariable = 'DROVER_EXTENSION_TEST_REPORT';
