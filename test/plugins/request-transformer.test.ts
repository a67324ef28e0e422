// request-transformer: schema messages, then every edit kind end to end against the echo upstream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gateway, pluginRow, rejection, request, route, type Gateway } from './helpers.js';

describe('request-transformer schema', () => {
  it('fills empty lists for every action', () => {
    const c = pluginRow('request-transformer').config;
    expect(c).toEqual({
      http_method: null,
      remove: { body: [], headers: [], querystring: [] },
      rename: { body: [], headers: [], querystring: [] },
      replace: { body: [], headers: [], querystring: [], uri: null },
      add: { body: [], headers: [], querystring: [] },
      append: { body: [], headers: [], querystring: [] },
    });
  });

  it("reports Kong's messages for bad entries", () => {
    expect(
      rejection('request-transformer', {
        http_method: 'get',
        add: { body: ['novalue'], headers: ['bad header:1', 'x-ok'] },
        rename: { headers: ['x-a:bad name'] },
        remove: { headers: ['bad name'] },
      }).fields,
    ).toEqual({
      config: {
        http_method: 'invalid value: get',
        add: { body: ["key 'novalue' has no value"], headers: ["'bad header' is not a valid header", 'invalid value: x-ok'] },
        rename: { headers: ["'bad name' is not a valid header"] },
        remove: { headers: ["'bad name' is not a valid header"] },
      },
    });
  });

  it('refuses templates it cannot render', () => {
    expect(rejection('request-transformer', { add: { querystring: ['q:$(os.exit())'] } }).fields).toEqual({
      config: { add: { querystring: ["value '$(os.exit())' is not in supported format, error:unsupported template expression 'os.exit()'"] } },
    });
  });
});

describe('request-transformer behaviour', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await gateway(() => {
      const headers = route({ paths: ['/headers'] });
      const query = route({ paths: ['/query'] });
      const body = route({ paths: ['/body'] });
      const method = route({ paths: ['/method'] });
      const uri = route({ paths: ['~/users/(?<user>\\w+)/orders'], strip_path: true });
      const tpl = route({ paths: ['/tpl'] });
      const host = route({ paths: ['/host'] });
      return {
        routes: [headers, query, body, method, uri, tpl, host],
        plugins: [
          pluginRow(
            'request-transformer',
            {
              remove: { headers: ['X-Remove'] },
              rename: { headers: ['X-Old:X-New'] },
              replace: { headers: ['X-Replace:replaced', 'X-Absent:never'] },
              add: { headers: ['X-Add:added', 'X-Keep:not-used'] },
              append: { headers: ['X-List:second'] },
            },
            { route: headers },
          ),
          pluginRow(
            'request-transformer',
            {
              remove: { querystring: ['drop'] },
              rename: { querystring: ['old:new'] },
              replace: { querystring: ['rep:R'] },
              add: { querystring: ['add:A', 'keep:K'] },
              append: { querystring: ['multi:2'] },
            },
            { route: query },
          ),
          pluginRow(
            'request-transformer',
            {
              remove: { body: ['secret'] },
              rename: { body: ['old:new'] },
              replace: { body: ['rep:R'] },
              add: { body: ['added:A'] },
              append: { body: ['list:L'] },
            },
            { route: body },
          ),
          pluginRow('request-transformer', { http_method: 'GET' }, { route: method }),
          pluginRow('request-transformer', { replace: { headers: ['Host:changed.test'] }, add: { headers: ['Host:ignored.test'] } }, { route: host }),
          pluginRow('request-transformer', { replace: { uri: '/anything/$(uri_captures.user)' } }, { route: uri }),
          pluginRow(
            'request-transformer',
            { add: { headers: ['X-From-Query:$(query_params.who)', 'X-From-Header:$(headers.x_src or "none")'], querystring: ['h:$(headers["X-Src"])'] } },
            { route: tpl },
          ),
        ],
      };
    });
  });
  afterAll(() => gw?.close());

  it('headers: remove → rename → replace → add → append', async () => {
    const res = await request(`${gw.url}/headers/request`, {
      headers: { 'x-remove': '1', 'x-old': 'moved', 'x-replace': 'orig', 'x-keep': 'mine', 'x-list': 'first' },
    });
    const h = res.json().headers;
    expect(h['x-remove']).toBeUndefined();
    expect(h['x-old']).toBeUndefined();
    expect(h['x-new']).toBe('moved');
    expect(h['x-replace']).toBe('replaced');
    expect(h['x-absent']).toBeUndefined();
    expect(h['x-add']).toBe('added');
    expect(h['x-keep']).toBe('mine');
    expect(h['x-list']).toBe('first, second');
  });

  it('replace sets the upstream Host even though the client header is not forwarded; add never touches Host', async () => {
    const res = await request(`${gw.url}/host/request`);
    expect(res.json().headers.host).toBe('changed.test');
  });

  it('querystring edits', async () => {
    const res = await request(`${gw.url}/query/request?drop=1&old=o&rep=r&keep=k&multi=1`);
    const e = res.json();
    const q = new URLSearchParams(e.query);
    expect(q.has('drop')).toBe(false);
    expect(q.get('new')).toBe('o');
    expect(q.has('old')).toBe(false);
    expect(q.get('rep')).toBe('R');
    expect(q.get('add')).toBe('A');
    expect(q.get('keep')).toBe('k');
    expect(q.getAll('multi')).toEqual(['1', '2']);
  });

  it('querystring edits on a request without a query (and with a bare "?")', async () => {
    for (const suffix of ['', '?']) {
      const e = (await request(`${gw.url}/query/request${suffix}`)).json();
      expect(e.url).toBe('/request?add=A&keep=K&multi=2');
    }
    // templates are rendered per request even then
    const t = (await request(`${gw.url}/tpl/request`, { headers: { 'x-src': 'a b' } })).json();
    expect(t.url).toBe('/request?h=a%20b');
  });

  it('JSON body edits, with Content-Length recomputed', async () => {
    const res = await request(`${gw.url}/body/request`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ secret: 's', old: 'o', rep: 'r', list: 'l0', other: 1 }),
    });
    const e = res.json();
    const body = JSON.parse(e.body);
    expect(body).toEqual({ new: 'o', rep: 'R', added: 'A', list: ['l0', 'L'], other: 1 });
    expect(Number(e.headers['content-length'])).toBe(e.bodyLength);
  });

  it('urlencoded body edits', async () => {
    const res = await request(`${gw.url}/body/request`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'secret=s&old=o&rep=r&list=l0',
    });
    const form = new URLSearchParams(res.json().body);
    expect(form.has('secret')).toBe(false);
    expect(form.get('new')).toBe('o');
    expect(form.get('rep')).toBe('R');
    expect(form.get('added')).toBe('A');
    expect(form.getAll('list')).toEqual(['l0', 'L']);
  });

  it('multipart body edits keep file parts intact', async () => {
    const b = 'XyZboundary';
    const body =
      `--${b}\r\nContent-Disposition: form-data; name="secret"\r\n\r\ns\r\n` +
      `--${b}\r\nContent-Disposition: form-data; name="rep"\r\n\r\nr\r\n` +
      `--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nfile-content\r\n` +
      `--${b}--\r\n`;
    const res = await request(`${gw.url}/body/request`, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${b}` },
      body,
    });
    const out: string = res.json().body;
    expect(out).not.toContain('name="secret"');
    expect(out).toContain('name="rep"\r\n\r\nR\r\n');
    expect(out).toContain('name="added"\r\n\r\nA\r\n');
    expect(out).toContain('filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nfile-content\r\n');
    expect(out.endsWith(`--${b}--\r\n`)).toBe(true);
  });

  it('leaves bodies of other types alone', async () => {
    const res = await request(`${gw.url}/body/request`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'secret=s' });
    expect(res.json().body).toBe('secret=s');
  });

  it('http_method GET moves a form body into the querystring', async () => {
    const res = await request(`${gw.url}/method/request?a=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=2&b=3',
    });
    const e = res.json();
    expect(e.method).toBe('GET');
    const q = new URLSearchParams(e.query);
    expect(q.getAll('a')).toEqual(['1', '2']);
    expect(q.get('b')).toBe('3');
  });

  it('replace.uri renders uri captures and keeps the query', async () => {
    const res = await request(`${gw.url}/users/alice/orders?x=1`);
    const e = res.json();
    expect(e.path).toBe('/anything/alice');
    expect(e.query).toBe('x=1');
  });

  it('templates read headers (case/underscore-insensitive) and query params, with `or` fallbacks', async () => {
    const res = await request(`${gw.url}/tpl/request?who=bob`, { headers: { 'x-src': 'client' } });
    const e = res.json();
    expect(e.headers['x-from-query']).toBe('bob');
    expect(e.headers['x-from-header']).toBe('client');
    expect(new URLSearchParams(e.query).get('h')).toBe('client');
    const none = (await request(`${gw.url}/tpl/request`)).json();
    expect(none.headers['x-from-query']).toBe('');
    expect(none.headers['x-from-header']).toBe('none');
  });
});
