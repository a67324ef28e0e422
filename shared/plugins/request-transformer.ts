// request-transformer: edit the request sent upstream (method, uri, headers, querystring, body).
import type { Field, Fields } from '../schema/types.js';
import type { PluginSchema } from './types.js';

const HEADER_NAME_RE = /^[A-Za-z0-9_-]+$/;
// Printable ASCII, tab, and anything non-ASCII; no CR/LF or other control characters.
const HEADER_VALUE_RE = /^[\t\x20-\x7e\u0080-\u{10ffff}]*$/u;

/** Split a "name:value" config entry the way Kong does (first run of colons separates). */
export function splitPair(entry: string): { name: string; value: string } {
  const m = /^([^:]+):*(.*)$/s.exec(entry);
  return m ? { name: m[1], value: m[2] } : { name: entry, value: '' };
}

/** Template expressions this build renders: lookups in headers, query_params, uri_captures, shared, joined with `or`. */
const TEMPLATE_TERM = String.raw`(?:(?:headers|query_params|uri_captures|shared)(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\s*(?:"[^"]*"|'[^']*'|\d+)\s*\])|"[^"]*"|'[^']*')`;
const TEMPLATE_EXPR = new RegExp(String.raw`^\s*${TEMPLATE_TERM}(?:\s+or\s+${TEMPLATE_TERM})*\s*$`);

/** Why a value's `$(...)` templates cannot be rendered, or undefined. */
export function templateError(value: string): string | undefined {
  let i = 0;
  while ((i = value.indexOf('$(', i)) >= 0) {
    let depth = 0;
    let j = i + 1;
    for (; j < value.length; j++) {
      if (value[j] === '(') depth++;
      else if (value[j] === ')' && --depth === 0) break;
    }
    if (j >= value.length) return 'unbalanced parentheses in template';
    const expr = value.slice(i + 2, j);
    if (!TEMPLATE_EXPR.test(expr)) return `unsupported template expression '${expr}'`;
    i = j + 1;
  }
  return undefined;
}

function headerPair(checkValue?: (v: string) => boolean): (entry: string) => string | undefined {
  return (entry) => {
    const { name, value } = splitPair(entry);
    if (!HEADER_NAME_RE.test(name)) return `'${name}' is not a valid header`;
    if (checkValue && !checkValue(value)) return `'${value}' is not a valid header`;
    return undefined;
  };
}

/** body/querystring entries need a value, and the value must be a renderable template. */
function colonValue(entry: string): string | undefined {
  const { name, value } = splitPair(entry);
  if (value === '') return `key '${name}' has no value`;
  const err = templateError(value);
  return err ? `value '${value}' is not in supported format, error:${err}` : undefined;
}

function headerValueTemplate(entry: string): string | undefined {
  const e = headerPair((v) => HEADER_VALUE_RE.test(v))(entry);
  if (e) return e;
  const { value } = splitPair(entry);
  const err = templateError(value);
  return err ? `value '${value}' is not in supported format, error:${err}` : undefined;
}

const COLON_RE = /^[^:]+:.*$/s;
const array = (elements: Field): Field => ({ type: 'array', required: true, default: [], elements });

export const headerNames = array({ type: 'string', custom: headerPair() });
export const colonHeaderValues = array({ type: 'string', match: COLON_RE, custom: headerValueTemplate });
export const colonHeaderNames = array({ type: 'string', match: COLON_RE, custom: headerPair((v) => HEADER_NAME_RE.test(v)) });
const strings = array({ type: 'string' });
const colonStrings = array({ type: 'string', custom: colonValue });

const record = (fields: Fields): Field => ({ type: 'record', required: true, fields });

export const requestTransformer: PluginSchema = {
  name: 'request-transformer',
  version: '3.9.0',
  priority: 801,
  config: {
    http_method: { type: 'string', match: /^[A-Z]+$/ },
    remove: record({ body: strings, headers: headerNames, querystring: strings }),
    rename: record({ body: colonStrings, headers: colonHeaderNames, querystring: colonStrings }),
    replace: record({ body: colonStrings, headers: colonHeaderValues, querystring: colonStrings,
      uri: {
        type: 'string',
        custom: (v: string) => {
          const err = templateError(v);
          return err ? `value '${v}' is not in supported format, error:${err}` : undefined;
        },
      },
    }),
    add: record({ body: colonStrings, headers: colonHeaderValues, querystring: colonStrings }),
    append: record({ body: colonStrings, headers: colonHeaderValues, querystring: colonStrings }),
  },
};
