// Input encodings and transport errors (kong/api/api_helpers.lua): JSON taken literally, form and
// multipart decoded against the schema, 415 / 413 / "Cannot parse JSON body", query args not merged.
import { describe, expect, it } from 'vitest';
import { FilePart, TypedPart, encodeBody, forEachContentType, gensym, useAdmin } from './admin-helpers.js';

const t = useAdmin('input', { bodyLimit: 64 * 1024 });

describe('content types', () => {
  it('JSON content type with an unparsable or empty body → 400 Cannot parse JSON body', async () => {
    for (const raw of ['{"name": ', '', 'null', '"x"', '[1,2]']) {
      const r = await t.call('POST', '/consumers', { raw, contentType: 'application/json' });
      expect(r.status).toBe(400);
      expect(r.text).toBe('{"message":"Cannot parse JSON body"}');
    }
  });

  it('JSON content type with parameters (charset) is JSON', async () => {
    const r = await t.call('POST', '/consumers', { raw: JSON.stringify({ username: gensym('cs') }), contentType: 'application/json; charset=utf-8' });
    expect(r.status).toBe(201);
  });

  it('JSON is taken literally: types must be right', async () => {
    const r = await t.call('POST', '/services', { raw: JSON.stringify({ host: 'x.test', port: '80', retries: 'many' }), contentType: 'application/json' });
    expect(r.status).toBe(400);
    expect(r.body.fields).toEqual({ port: 'expected an integer', retries: 'expected an integer' });
  });

  it('an unsupported content type → 415', async () => {
    for (const contentType of ['text/plain', 'application/xml', 'application/yaml']) {
      const r = await t.call('POST', '/consumers', { raw: 'username=x', contentType });
      expect(r.status).toBe(415);
      expect(r.body).toEqual({ message: 'Unsupported Media Type' });
    }
  });

  it('a body without a content type → 415; no body and no content type → {}', async () => {
    const r = await t.call('POST', '/consumers', { raw: 'username=x' });
    expect(r.status).toBe(415);
    const empty = await t.call('POST', '/consumers');
    expect(empty.status).toBe(400);
    expect(empty.body.name).toBe('schema violation');
  });

  it('form and multipart content types without a body → {} (schema violation)', async () => {
    for (const contentType of ['application/x-www-form-urlencoded', 'multipart/form-data']) {
      const r = await t.call('POST', '/consumers', { raw: '', contentType });
      expect(r.status).toBe(400);
      expect(r.body.fields).toEqual({ '@entity': ["at least one of these fields must be non-empty: 'custom_id', 'username'"] });
    }
  });

  it('malformed multipart → 400', async () => {
    const r = await t.call('POST', '/consumers', { raw: 'garbage', contentType: 'multipart/form-data' });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ message: 'Cannot parse multipart body' });
  });

  it('a body over the limit → 413, and the server keeps answering', async () => {
    const r = await t.call('POST', '/consumers', { raw: 'x'.repeat(70 * 1024), contentType: 'application/json' });
    expect(r.status).toBe(413);
    expect(r.body).toEqual({ message: 'Request size limit exceeded' });
    expect((await t.call('GET', '/consumers')).status).toBe(200);
  });

  it('query-string arguments are not merged into the body', async () => {
    const r = await t.call('POST', `/consumers?username=${gensym('q')}`, { body: {}, contentType: 'application/json' });
    expect(r.status).toBe(400);
    expect(r.body.fields['@entity']).toBeDefined();
  });

  it('more than 1000 query arguments → 400 Too many arguments', async () => {
    const qs = Array.from({ length: 1001 }, (_, i) => `a${i}=1`).join('&');
    const r = await t.call('GET', `/services?${qs}`);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ message: 'Too many arguments' });
  });
});

describe('form decoding against the schema', () => {
  it('paths[]=, paths[1]=, single values wrapped, booleans and numbers inferred', async () => {
    const s = (await t.call('POST', '/services', { body: { host: 'f.test' } })).body;
    const raw = 'paths[]=/a&paths[]=/b&strip_path=false&regex_priority=7&methods=GET&headers.x-version=v1&headers[x-env]=prod';
    const r = await t.call('POST', `/services/${s.id}/routes`, { raw, contentType: 'application/x-www-form-urlencoded' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ paths: ['/a', '/b'], strip_path: false, regex_priority: 7, methods: ['GET'], headers: { 'x-version': ['v1'], 'x-env': ['prod'] } });
    const one = await t.call('POST', `/services/${s.id}/routes`, { raw: 'paths=/single', contentType: 'application/x-www-form-urlencoded' });
    expect(one.body.paths).toEqual(['/single']);
  });

  it('multipart: file parts become their content, application/json parts are decoded', async () => {
    const s = (await t.call('POST', '/services', { body: { host: 'm.test' } })).body;
    const r = await t.call('POST', `/services/${s.id}/plugins`, {
      body: { name: 'cors', config: new TypedPart(JSON.stringify({ origins: ['https://a.test'], max_age: 60 }), 'application/json'), tags: new FilePart('from-file', 't.txt', 'text/plain') },
      contentType: 'multipart/form-data',
    });
    expect(r.status).toBe(201);
    expect(r.body.config).toMatchObject({ origins: ['https://a.test'], max_age: 60, credentials: false });
    expect(r.body.tags).toEqual(['from-file']);
  });

  forEachContentType('nested records: config.* decoded to the plugin schema', async (ct) => {
    const s = (await t.call('POST', '/services', { body: { host: 'n.test' } })).body;
    const r = await t.call('POST', `/services/${s.id}/plugins`, { body: { name: 'request-termination', config: { status_code: 418, message: 'teapot' } }, contentType: ct });
    expect(r.status).toBe(201);
    expect(r.body.config).toMatchObject({ status_code: 418, message: 'teapot', echo: false });
  });

  it('form keys that would reach Object.prototype are ignored', async () => {
    const r = await t.call('POST', '/consumers', { raw: `username=${gensym('pp')}&__proto__.polluted=1&constructor.prototype.x=1`, contentType: 'application/x-www-form-urlencoded' });
    expect(r.status).toBe(201);
    expect(({} as any).polluted).toBeUndefined();
    const j = await t.call('POST', '/consumers', { raw: `{"username":"${gensym('pj')}","__proto__":{"polluted":1}}`, contentType: 'application/json' });
    expect(j.status).toBe(201);
  });

  it('encodeBody helper round-trips through every encoding', () => {
    expect(encodeBody('application/x-www-form-urlencoded', { a: { b: 1 }, p: ['/x'], n: null }).body).toBe('a.b=1&p%5B1%5D=%2Fx&n=');
  });
});

describe('values PostgreSQL cannot store are 400, not 500', () => {
  it('NUL characters in text', async () => {
    const r = await t.call('POST', '/consumers', { raw: JSON.stringify({ username: 'a\u0000b' }), contentType: 'application/json' });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 2, name: 'schema violation' });
  });

  it('integers beyond bigint', async () => {
    const r = await t.call('POST', '/routes', { raw: JSON.stringify({ paths: ['/big'], regex_priority: 1e300 }), contentType: 'application/json' });
    expect(r.status).toBe(400);
  });
});
