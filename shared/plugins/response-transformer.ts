// response-transformer: edit the response headers and (JSON) body sent to the client.
import type { Field, Fields } from '../schema/types.js';
import type { PluginSchema } from './types.js';
import { colonHeaderNames } from './request-transformer.js';

const COLON_RE = /^[^:]+:.*$/s;
const array = (elements: Field): Field => ({ type: 'array', required: true, default: [], elements });
const strings = array({ type: 'string' });
const colonStrings = array({ type: 'string', match: COLON_RE });
const jsonTypes = array({ type: 'string', one_of: ['boolean', 'number', 'string'] });
const record = (fields: Fields): Field => ({ type: 'record', required: true, fields });
const withTypes = () => record({ json: colonStrings, json_types: jsonTypes, headers: colonStrings });

export const responseTransformer: PluginSchema = {
  name: 'response-transformer',
  version: '3.9.0',
  priority: 800,
  protocols: ['grpc', 'grpcs', 'http', 'https'],
  config: {
    remove: record({ json: strings, headers: strings }),
    rename: record({ json: colonStrings, headers: colonHeaderNames }),
    replace: withTypes(),
    add: withTypes(),
    append: withTypes(),
  },
};
