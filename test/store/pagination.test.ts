// Keyset pagination over more than 1,000 rows, tag filters (AND / OR), offsets, /tags listing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Row } from '../../shared/snapshot.js';
import { failure, openTestStore, type TestStore } from './store-helpers.js';

let store: TestStore;
const TOTAL = 1205;
beforeAll(async () => {
  store = await openTestStore('paging');
  for (let i = 0; i < TOTAL; i += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, TOTAL - i) }, (_, j) => {
        const n = i + j;
        const tags = [n % 2 === 0 ? 'even' : 'odd', ...(n % 3 === 0 ? ['three'] : []), ...(n % 5 === 0 ? ['five'] : [])];
        return store.dao.insert('consumers', { username: `user-${n}`, tags });
      }),
    );
  }
});
afterAll(async () => {
  await store?.close();
});

async function all(opts: Parameters<TestStore['dao']['page']>[1]): Promise<{ rows: Row[]; pages: number }> {
  const rows: Row[] = [];
  let offset: string | null = null;
  let pages = 0;
  do {
    const page = await store.dao.page('consumers', { ...opts, offset });
    rows.push(...page.data);
    offset = page.offset;
    pages++;
  } while (offset);
  return { rows, pages };
}

const nameNumber = (r: Row) => Number(String(r.username).slice(5));

describe('pagination', () => {
  it('default size is 100; pages of 1000 walk every row exactly once', async () => {
    const first = await store.dao.page('consumers');
    expect(first.data).toHaveLength(100);
    expect(typeof first.offset).toBe('string');
    const { rows, pages } = await all({ size: 1000 });
    expect(pages).toBe(2);
    expect(rows).toHaveLength(TOTAL);
    expect(new Set(rows.map((r) => r.id)).size).toBe(TOTAL);
  });

  it('the last page has no offset; an exact fit too', async () => {
    const page = await store.dao.page('consumers', { size: 1000, filter: { username: 'user-7' } });
    expect(page.data.map((r) => r.username)).toEqual(['user-7']);
    expect(page.offset).toBeNull();
    const { rows, pages } = await all({ size: TOTAL });
    expect(rows).toHaveLength(TOTAL);
    expect(pages).toBe(1);
  });

  it('rows come in primary-key order, as Kong pages on PostgreSQL', async () => {
    const { rows } = await all({ size: 1000 });
    for (let i = 1; i < rows.length; i++) expect(rows[i - 1].id < rows[i].id).toBe(true);
  });

  it('tags: AND (a,b) and OR (a/b), across pages', async () => {
    const and = await all({ size: 100, tags: ['even', 'three'], tagsMode: 'and' });
    const expectedAnd = Array.from({ length: TOTAL }, (_, n) => n).filter((n) => n % 6 === 0);
    expect(and.rows.map(nameNumber).sort((x, y) => x - y)).toEqual(expectedAnd);
    const or = await all({ size: 1000, tags: ['three', 'five'], tagsMode: 'or' });
    const expectedOr = Array.from({ length: TOTAL }, (_, n) => n).filter((n) => n % 3 === 0 || n % 5 === 0);
    expect(or.rows.map(nameNumber).sort((x, y) => x - y)).toEqual(expectedOr);
    expect(or.pages).toBe(1);
    const single = await store.dao.page('consumers', { size: 1000, tags: ['five'] });
    expect(single.data).toHaveLength(Math.ceil(TOTAL / 5));
    expect((await store.dao.page('consumers', { tags: ['nope'] })).data).toEqual([]);
  });

  it('an invalid offset is a 400 with code 7', async () => {
    for (const bad of ['!!!', 'bm90IGpzb24=', Buffer.from('[1,"x"]').toString('base64')]) {
      const f = await failure(store.dao.page('consumers', { offset: bad }));
      expect(f).toEqual({
        status: 400,
        body: { code: 7, name: 'invalid offset', message: `'${bad}' is not a valid offset: bad base64 encoding` },
      });
    }
  });

  it('tagged(): every (entity, id, tag), filtered by tag, paginated', async () => {
    const svc = await store.dao.insert('services', { name: 'tagged-svc', host: 't.test', tags: ['five', 'svc'] });
    const five = [];
    let offset: string | null = null;
    do {
      const page = await store.dao.tagged('five', { size: 100, offset });
      five.push(...page.data);
      offset = page.offset;
    } while (offset);
    expect(five).toHaveLength(Math.ceil(TOTAL / 5) + 1);
    expect(five).toContainEqual({ entity_name: 'services', entity_id: svc.id, tag: 'five' });
    expect(five.every((r) => r.tag === 'five')).toBe(true);
    const any = await store.dao.tagged(null, { size: 3 });
    expect(any.data).toHaveLength(3);
    expect(any.offset).not.toBeNull();
  });
});
