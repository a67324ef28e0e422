// Collection query arguments as Kong reads them (kong/api/endpoints.lua extract_options/get_page_size):
// size, offset and the tags filter, and the `next` link of a page.
import { invalidOptions, invalidSize } from '../../shared/errors.js';
import type { Page, PageOptions } from '../store/types.js';
import { MAX_ARGS } from './body.js';
import { badRequest } from '../../shared/errors.js';

export const MAX_PAGE_SIZE = 1000;

// printable ASCII except ',' and '/', plus non-ASCII (Kong's TAGS_AND_REGEX / TAGS_OR_REGEX)
const TAG_CHARS = '[\\x20-\\x2B\\x2D\\x2E\\x30-\\x7E\\u0080-\\u{10FFFF}]';
const TAGS_AND = new RegExp(`^(${TAG_CHARS}+(?:,|$))+$`, 'u');
const TAGS_OR = new RegExp(`^(${TAG_CHARS}+(?:/|$))+$`, 'u');

export function checkArgCount(query: URLSearchParams): void {
  let n = 0;
  for (const _ of query.keys()) if (++n > MAX_ARGS) throw badRequest('Too many arguments');
}

/** Parses size/offset/tags. `withTags` false for collections without tags (and /tags/{tag}). */
export function pageOptions(query: URLSearchParams, withTags = true): PageOptions {
  const opts: PageOptions = {};
  if (withTags && query.has('tags')) {
    const raw = query.get('tags')!;
    if (raw === '') throw invalidOptions({ tags: 'cannot be null' });
    let tags: string[];
    if (TAGS_AND.test(raw)) {
      tags = raw.split(',').filter((t) => t !== '');
      opts.tagsMode = 'and';
    } else if (TAGS_OR.test(raw)) {
      tags = raw.split('/').filter((t) => t !== '');
      opts.tagsMode = 'or';
    } else throw invalidOptions({ tags: 'invalid filter syntax' });
    if (tags.length > 5) throw invalidOptions({ tags: 'cannot query more than 5 tags' });
    opts.tags = tags;
  }
  if (query.has('size')) {
    const raw = query.get('size')!.trim();
    const size = raw === '' ? NaN : Number(raw);
    if (Number.isNaN(size)) throw invalidSize('size must be a number');
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) throw invalidSize(`size must be an integer between 1 and ${MAX_PAGE_SIZE}`);
    opts.size = size;
  }
  const offset = query.get('offset');
  if (offset !== null && offset !== '') opts.offset = offset;
  return opts;
}

/** {data, offset, next}: `offset` only when there is a next page, `next` null on the last one. */
export function pageBody(page: Page, nextBase: string, extra = ''): Record<string, unknown> {
  return {
    data: page.data,
    offset: page.offset ?? undefined,
    next: page.offset ? `${nextBase}?offset=${encodeURIComponent(page.offset)}${extra}` : null,
  };
}

/** Top-level collections carry tags and size over to `next` (nested ones do not: Kong quirk). */
export function nextExtras(query: URLSearchParams): string {
  let s = '';
  if (query.has('tags')) s += `&tags=${encodeURIComponent(query.get('tags')!)}`;
  if (query.has('size')) s += `&size=${query.get('size')}`;
  return s;
}
