// Pagination (size/offset/next exactly as Kong builds them) over more than 1,000 entities, and the
// tags filter (a,b = AND, a/b = OR).
import { describe, expect, it } from 'vitest';
import { useAdmin } from './admin-helpers.js';

const t = useAdmin('paging');
const TOTAL = 1105;

async function inParallel<T>(n: number, limit: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

describe('pagination', () => {
  it(`walks ${TOTAL} consumers with the default size (100) and with size=1000`, async () => {
    await inParallel(TOTAL, 8, async (i) => {
      const tags = [i % 2 === 0 ? 'even' : 'odd', i % 3 === 0 ? 'three' : 'other'];
      const r = await t.call('POST', '/consumers', { body: { username: `user-${String(i).padStart(5, '0')}`, tags } });
      expect(r.status).toBe(201);
    });

    for (const size of [undefined, 1000]) {
      const seen = new Set<string>();
      let path: string | null = size ? `/consumers?size=${size}` : '/consumers';
      let pages = 0;
      while (path) {
        const r = await t.call('GET', path);
        expect(r.status).toBe(200);
        pages++;
        for (const c of r.body.data) seen.add(c.id);
        if (r.body.next) {
          expect(r.body.data).toHaveLength(size ?? 100);
          expect(r.body.next).toBe(`/consumers?offset=${encodeURIComponent(r.body.offset)}${size ? `&size=${size}` : ''}`);
        } else expect(r.body).not.toHaveProperty('offset');
        path = r.body.next;
      }
      expect(seen.size).toBe(TOTAL);
      expect(pages).toBe(Math.ceil(TOTAL / (size ?? 100)));
    }
  });

  it('tags=a,b is AND, tags=a/b is OR; next keeps tags and size', async () => {
    const count = async (tags: string) => {
      let n = 0;
      let path: string | null = `/consumers?size=200&tags=${encodeURIComponent(tags)}`;
      while (path) {
        const r = await t.call('GET', path);
        expect(r.status).toBe(200);
        if (r.body.next) expect(r.body.next).toContain(`&tags=${encodeURIComponent(tags)}&size=200`);
        for (const c of r.body.data) expect(c.tags).toBeDefined();
        n += r.body.data.length;
        path = r.body.next;
      }
      return n;
    };
    const evens = Math.ceil(TOTAL / 2);
    const threes = Math.ceil(TOTAL / 3);
    const sixes = Math.ceil(TOTAL / 6);
    expect(await count('even')).toBe(evens);
    expect(await count('even,three')).toBe(sixes);
    expect(await count('even/three')).toBe(evens + threes - sixes);
  });

  it('size and offset errors', async () => {
    expect(await t.call('GET', '/consumers?size=abc')).toMatchObject({ status: 400, body: { code: 9, name: 'invalid size', message: 'size must be a number' } });
    for (const s of ['0', '1001', '1.5', '-3']) {
      const r = await t.call('GET', `/consumers?size=${s}`);
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ code: 9, name: 'invalid size', message: 'size must be an integer between 1 and 1000' });
    }
    const bad = await t.call('GET', '/consumers?offset=!!!');
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ code: 7, name: 'invalid offset', message: "'!!!' is not a valid offset: bad base64 encoding" });
    expect((await t.call('GET', '/consumers?offset=bm90IGpzb24=')).body.code).toBe(7);
  });

  it('tags errors', async () => {
    expect(await t.call('GET', '/consumers?tags=')).toMatchObject({
      status: 400,
      body: { code: 11, name: 'invalid options', message: 'invalid option (tags: cannot be null)', options: { tags: 'cannot be null' } },
    });
    expect((await t.call('GET', '/consumers?tags=a,b/c')).body.options).toEqual({ tags: 'invalid filter syntax' });
    expect((await t.call('GET', '/consumers?tags=a,b,c,d,e,f')).body.options).toEqual({ tags: 'cannot query more than 5 tags' });
  });

  it('/tags and /tags/{tag}', async () => {
    const r = await t.call('GET', '/tags/three?size=50');
    expect(r.status).toBe(200);
    expect(r.body.data[0]).toEqual({ entity_name: 'consumers', entity_id: expect.any(String), tag: 'three' });
    expect(r.body.next).toBe(`/tags/three?offset=${encodeURIComponent(r.body.offset)}`);
    let n = 0;
    let path: string | null = '/tags/three?size=1000';
    while (path) {
      const p = await t.call('GET', path);
      n += p.body.data.length;
      path = p.body.next;
    }
    expect(n).toBe(Math.ceil(TOTAL / 3));
    const all = await t.call('GET', '/tags?size=10');
    expect(all.body.data).toHaveLength(10);
    expect(all.body.next).toBe(`/tags?offset=${encodeURIComponent(all.body.offset)}&size=10`);
  });
});
