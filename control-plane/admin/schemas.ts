// /schemas endpoints: entity and plugin schemas as JSON in Kong's shape (fields as an array of
// {name: {type, required, default, ...}}), and validation without storing.
import { entityByAdminName, entityByName, plugins as pluginsEntity } from '../../shared/schema/entities/index.js';
import { prepareInsert } from '../../shared/schema/entity.js';
import type { EntityCheck, EntitySchema, Field, Fields } from '../../shared/schema/types.js';
import { getPluginSchema } from '../../shared/plugins/registry.js';
import type { PluginSchema } from '../../shared/plugins/types.js';
import { HttpError } from '../../shared/errors.js';
import { bodyArgs } from './body.js';
import type { AdminRoute } from './router.js';

type Json = Record<string, unknown>;

const COPIED = ['required', 'unique', 'auto', 'one_of', 'between', 'gt', 'len_min', 'len_max', 'starts_with', 'uuid', 'reference', 'on_delete', 'description'] as const;

export function fieldToJson(field: Field): Json {
  const out: Json = { type: field.type === 'json' ? 'json' : field.type };
  for (const k of COPIED) if (field[k] !== undefined) out[k] = field[k];
  if (field.default !== undefined) out.default = field.default;
  if (field.transient) out.transient = true;
  if (field.elements) out.elements = fieldToJson(field.elements);
  if (field.keys) out.keys = fieldToJson(field.keys);
  if (field.values) out.values = fieldToJson(field.values);
  if (field.fields) out.fields = fieldsToJson(field.fields);
  if (field.timestamp === 'seconds' || field.timestamp === 'ms') out.timestamp = true;
  return out;
}

export function fieldsToJson(fields: Fields): Json[] {
  return Object.entries(fields)
    .filter(([, f]) => !f.internal)
    .map(([name, f]) => ({ [name]: fieldToJson(f) }));
}

function checkToJson(check: EntityCheck): Json {
  if ('conditional' in check) return { conditional: { if_field: check.conditional.if_field, then_field: check.conditional.then_field } };
  if ('custom' in check) return { custom_entity_check: { field_sources: check.fields ?? [] } };
  return { ...check };
}

export function entitySchemaToJson(schema: EntitySchema): Json {
  const out: Json = { name: schema.name, primary_key: schema.primary_key, fields: fieldsToJson(schema.fields), entity_checks: (schema.entity_checks ?? []).map(checkToJson) };
  if (schema.endpoint_key) out.endpoint_key = schema.endpoint_key;
  if (schema.admin_name) out.admin_api_name = schema.admin_name;
  if (schema.nested_name) out.admin_api_nested_name = schema.nested_name;
  if (schema.ttl) out.ttl = true;
  return out;
}

/** A plugin's subschema as Kong shows it: consumer/route/service restrictions, protocols, config. */
export function pluginSchemaToJson(p: PluginSchema): Json {
  const fields: Json[] = [];
  if (p.no_consumer) fields.push({ consumer: { type: 'foreign', reference: 'consumers', eq: null } });
  if (p.no_route) fields.push({ route: { type: 'foreign', reference: 'routes', eq: null } });
  if (p.no_service) fields.push({ service: { type: 'foreign', reference: 'services', eq: null } });
  fields.push({
    protocols: {
      type: 'set',
      required: true,
      default: p.protocols ?? ['grpc', 'grpcs', 'http', 'https'],
      elements: { type: 'string', one_of: ['grpc', 'grpcs', 'http', 'https', 'tcp', 'tls', 'tls_passthrough', 'udp'] },
    },
  });
  const config: Json = { type: 'record', required: true, fields: fieldsToJson(p.config) };
  if (p.config_checks?.length) config.entity_checks = p.config_checks.map(checkToJson);
  fields.push({ config });
  return { fields, entity_checks: [] };
}

/** Entity by table name (Kong: /schemas/jwt_secrets) or, for convenience, by Admin API name. */
function entityNamed(name: string): EntitySchema | undefined {
  return entityByName.get(name) ?? entityByAdminName.get(name);
}

function validate(schema: EntitySchema, input: Record<string, unknown>) {
  // Throws the schema violation (400) that an insert would; nothing is stored.
  prepareInsert(schema, input);
  return { status: 200, body: { message: 'schema validation successful' } };
}

export function createSchemaRoutes(): AdminRoute[] {
  return [
    {
      method: 'GET',
      pattern: '/schemas/:name',
      handler: (req) => {
        const schema = entityNamed(req.params.name);
        if (!schema) throw new HttpError(404, { message: `No entity named '${req.params.name}'` });
        return { status: 200, body: entitySchemaToJson(schema) };
      },
    },
    {
      method: 'GET',
      pattern: '/schemas/plugins/:name',
      handler: (req) => {
        const p = getPluginSchema(req.params.name);
        if (!p) throw new HttpError(404, { message: `No plugin named '${req.params.name}'` });
        return { status: 200, body: pluginSchemaToJson(p) };
      },
    },
    {
      // deprecated in Kong (1.2.0), still answered: the config record only
      method: 'GET',
      pattern: '/plugins/schema/:name',
      handler: (req) => {
        const p = getPluginSchema(req.params.name);
        if (!p) throw new HttpError(404, { message: `No plugin named '${req.params.name}'` });
        return { status: 200, body: { type: 'record', required: true, fields: fieldsToJson(p.config) } };
      },
    },
    {
      method: 'POST',
      pattern: '/schemas/plugins/validate',
      handler: (req) => validate(pluginsEntity, bodyArgs(req.body, pluginsEntity)),
    },
    {
      method: 'POST',
      pattern: '/schemas/:name/validate',
      handler: (req) => {
        const schema = entityNamed(req.params.name);
        if (!schema) throw new HttpError(404, { message: `No entity named '${req.params.name}'` });
        return validate(schema, bodyArgs(req.body, schema));
      },
    },
  ];
}

