// How startCodeServer() fails: with what to do, and with the server's own words.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startCodeServer } from '../support/codeServer';

describe('startCodeServer failures', () => {
  let scratch: string;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'drover-e2e-start-'));
  });

  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('names the install script when code-server is not installed', async () => {
    const installed = process.env.DROVER_CODE_SERVER_DIR;
    process.env.DROVER_CODE_SERVER_DIR = join(scratch, 'no-code-server-here');
    try {
      await assert.rejects(startCodeServer({ workspace: scratch }), (error: Error) => {
        assert.match(error.message, /not installed in .*no-code-server-here/);
        assert.match(error.message, /Run scripts\/install-code-server\.sh/);
        return true;
      });
    } finally {
      if (installed === undefined) delete process.env.DROVER_CODE_SERVER_DIR;
      else process.env.DROVER_CODE_SERVER_DIR = installed;
    }
  });

  it('reports what the server printed when it exits before listening', async () => {
    const missingModule = join(scratch, 'missing-preload.js');
    await assert.rejects(
      startCodeServer({ workspace: scratch, env: { NODE_OPTIONS: `--require ${missingModule}` } }),
      (error: Error) => {
        assert.match(error.message, /exited \(code 1, signal null\) before it listened/);
        assert.ok(error.message.includes(`Cannot find module '${missingModule}'`), error.message);
        return true;
      },
    );
  });
});
