import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTemplate, TemplateError } from '../../daemon/sources/template';

describe('prompt template', () => {
  it('replaces top-level and nested fields, with or without spaces inside the braces', () => {
    const template = compileTemplate('Review: {{text}} [{{ meta.lang }}] by {{meta.author.name}}');
    const fields = { text: 'Great tea', meta: { lang: 'en', author: { name: 'Aiko' } } };
    assert.equal(template.render(fields, 'record 1'), 'Review: Great tea [en] by Aiko');
    assert.deepEqual(template.fields, ['text', 'meta.lang', 'meta.author.name']);
  });

  it('renders numbers and booleans as text, null as nothing, objects and arrays as JSON', () => {
    const template = compileTemplate('{{n}}|{{f}}|{{ok}}|{{none}}|{{obj}}|{{list}}|{{big}}');
    const fields = { n: 42, f: -0.5, ok: false, none: null, obj: { a: 1, b: [true] }, list: ['x', 2], big: 2n ** 64n };
    assert.equal(template.render(fields, 'record 1'), '42|-0.5|false||{"a":1,"b":[true]}|["x",2]|18446744073709551616');
  });

  it('renders binary values (SQLite BLOBs) as UTF-8 text', () => {
    const template = compileTemplate('<{{blob}}>');
    const bytes = new TextEncoder().encode('héllo ✓');
    assert.equal(template.render({ blob: Buffer.from(bytes) }, 'record 1'), '<héllo ✓>');
    assert.equal(template.render({ blob: bytes }, 'record 1'), '<héllo ✓>');
  });

  it('renders a nested field under a null object as empty, like a null value', () => {
    assert.equal(compileTemplate('[{{meta.lang}}]').render({ meta: null }, 'record 1'), '[]');
  });

  it('names the record, the field and the fields the record has when one is missing', () => {
    const template = compileTemplate('{{text}} {{lang}}');
    assert.throws(
      () => template.render({ id: 7, text: 'hi', language: 'en' }, 'record 42 (line 17)'),
      (error: unknown) => {
        assert.ok(error instanceof TemplateError);
        assert.match(error.message, /^record 42 \(line 17\) has no field "lang"/);
        assert.match(error.message, /"id", "text", "language"/);
        return true;
      },
    );
  });

  it('says which part of a nested path is missing and what is there instead', () => {
    const template = compileTemplate('{{meta.lang}}');
    assert.throws(() => template.render({ meta: { country: 'JP' } }, 'record 3'), /record 3 has no field "meta\.lang".*"meta" has "country"/);
    assert.throws(() => template.render({ meta: 'plain' }, 'record 4'), /record 4 has no field "meta\.lang".*"meta" is a string, not an object/);
    assert.throws(() => template.render({ other: 1 }, 'record 5'), /record 5 has no field "meta\.lang".*it has "other"/);
  });

  it('never reads inherited properties such as constructor or toString', () => {
    const template = compileTemplate('{{constructor}}{{text.length}}');
    assert.throws(() => template.render({ text: 'abc' }, 'record 1'), /no field "constructor"/);
    assert.throws(() => compileTemplate('{{text.length}}').render({ text: 'abc' }, 'record 1'), /"text" is a string, not an object/);
  });

  it('prefers a field whose own name contains a dot (a CSV column "a.b") over a path', () => {
    assert.equal(compileTemplate('{{a.b}}').render({ 'a.b': 'flat', a: { b: 'nested' } }, 'record 1'), 'flat');
    assert.equal(compileTemplate('{{a.b}}').render({ a: { b: 'nested' } }, 'record 1'), 'nested');
  });

  it('reads array elements by index', () => {
    assert.equal(compileTemplate('{{tags.1}}').render({ tags: ['a', 'b'] }, 'record 1'), 'b');
  });

  it('allows a static prompt without any field', () => {
    const template = compileTemplate('Classify this.');
    assert.deepEqual(template.fields, []);
    assert.equal(template.render({}, 'record 1'), 'Classify this.');
  });

  it('keeps text around and between fields exactly, including single braces', () => {
    const template = compileTemplate('{"x": {{a}}}{{b}}{{a}}');
    assert.equal(template.render({ a: 1, b: 'B' }, 'record 1'), '{"x": 1}B1');
    assert.deepEqual(template.fields, ['a', 'b']);
  });

  it('rejects an unclosed or empty reference when compiled, naming where it is', () => {
    assert.throws(() => compileTemplate('Hello {{name'), /prompt\.template: "\{\{" at character 7 has no closing "\}\}"/);
    assert.throws(() => compileTemplate('a {{ }} b'), /prompt\.template: "\{\{ \}\}" at character 3 is not a field reference/);
    assert.throws(() => compileTemplate('{{a..b}}'), TemplateError);
  });
});
