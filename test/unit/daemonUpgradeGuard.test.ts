import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkUpgrade, tokenMatches } from '../../daemon/server/upgradeGuard';

const token = 'a'.repeat(43);
const expected = { port: 4321, token };
const good = { host: '127.0.0.1:4321', authorization: `Bearer ${token}` };

describe('the upgrade guard', () => {
  it('lets a request through with the token, a local Host and no Origin', () => {
    assert.equal(checkUpgrade({ url: '/', headers: good }, expected), null);
    assert.equal(checkUpgrade({ url: '/', headers: { ...good, host: 'localhost:4321' } }, expected), null);
  });

  it('refuses a missing or wrong token with 401', () => {
    assert.equal(checkUpgrade({ url: '/', headers: { host: good.host } }, expected)?.status, 401);
    assert.equal(checkUpgrade({ url: '/', headers: { ...good, authorization: `Bearer ${'b'.repeat(43)}` } }, expected)?.status, 401);
    assert.equal(checkUpgrade({ url: '/', headers: { ...good, authorization: `Bearer ${token}x` } }, expected)?.status, 401);
    assert.equal(checkUpgrade({ url: '/', headers: { ...good, authorization: `Basic ${token}` } }, expected)?.status, 401);
  });

  it('refuses any Origin with 403, even with the right token', () => {
    const refusal = checkUpgrade({ url: '/', headers: { ...good, origin: 'http://evil.example' } }, expected);
    assert.equal(refusal?.status, 403);
    assert.match(refusal?.reason ?? '', /Origin/);
    assert.equal(checkUpgrade({ url: '/', headers: { ...good, origin: 'vscode-webview://x' } }, expected)?.status, 403);
  });

  it('refuses an unexpected Host with 403 (DNS rebinding)', () => {
    for (const host of ['evil.example:4321', '127.0.0.1:9999', '127.0.0.1', 'localhost.evil.example:4321', '[::1]:4321']) {
      assert.equal(checkUpgrade({ url: '/', headers: { ...good, host } }, expected)?.status, 403, host);
    }
    assert.equal(checkUpgrade({ url: '/', headers: { authorization: good.authorization } }, expected)?.status, 403);
  });

  it('refuses a token in the query string even beside a valid header, and never takes it as auth', () => {
    assert.equal(checkUpgrade({ url: `/?token=${token}`, headers: good }, expected)?.status, 400);
    assert.equal(checkUpgrade({ url: `/?access_token=${token}`, headers: { host: good.host } }, expected)?.status, 400);
  });

  it('answers 404 for any other path', () => {
    assert.equal(checkUpgrade({ url: '/rpc', headers: good }, expected)?.status, 404);
  });

  it('compares tokens by their digests', () => {
    assert.equal(tokenMatches(token, token), true);
    assert.equal(tokenMatches('', token), false);
    assert.equal(tokenMatches(token.slice(1), token), false);
  });
});
