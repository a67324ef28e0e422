// Snapshot → declarative YAML (`_format_version: "3.0"`), nested the way people write these files:
// services → routes → plugins, consumers → credentials and plugins, upstreams → targets,
// certificates → snis. Parsing the export gives back the same snapshot (same ids, same hash).
import YAML from 'yaml';
import { entityByName } from '../../shared/schema/entities/index.js';
import type { EntitySchema } from '../../shared/schema/types.js';
import { fieldDefault } from '../../shared/schema/validate.js';
import type { Row, Snapshot } from '../../shared/snapshot.js';

const CONSUMER_CHILDREN = ['keyauth_credentials', 'jwt_secrets', 'basicauth_credentials', 'acls'] as const;

/**
 * The entry as written in a file: nulls that are the field's default are left out, foreign keys
 * become the referenced id, and the field pointing at the enclosing parent is dropped.
 */
function entry(schema: EntitySchema, row: Row, parentField?: string): Row {
  const out: Row = {};
  for (const [name, f] of Object.entries(schema.fields)) {
    if (name === parentField) continue;
    const v = row[name];
    if (v === undefined) continue;
    if (v === null && fieldDefault(f, row) === null) continue;
    out[name] = f.type === 'foreign' && v !== null ? v.id : v;
  }
  return out;
}

function groupBy(rows: Row[], key: (r: Row) => string | undefined): Map<string, Row[]> {
  const m = new Map<string, Row[]>();
  for (const r of rows) {
    const k = key(r);
    if (k === undefined) continue;
    let l = m.get(k);
    if (!l) m.set(k, (l = []));
    l.push(r);
  }
  return m;
}

/** The document (plain object) for a snapshot; `exportDeclarative` is its YAML text. */
export function exportDeclarativeObject(s: Snapshot): Record<string, unknown> {
  const schema = (n: string) => entityByName.get(n)!;
  const nested = new Set<Row>();
  const only = (p: Row, scope: 'route' | 'service' | 'consumer') =>
    (['route', 'service', 'consumer'] as const).every((k) => (k === scope ? p[k] !== null : p[k] === null));

  const pluginsBy = (scope: 'route' | 'service' | 'consumer') => groupBy(s.plugins, (p) => (only(p, scope) ? p[scope].id : undefined));
  const routePlugins = pluginsBy('route');
  const servicePlugins = pluginsBy('service');
  const consumerPlugins = pluginsBy('consumer');
  const plugins = (list: Row[] | undefined, parentField: string) =>
    list?.length ? { plugins: list.map((p) => (nested.add(p), entry(schema('plugins'), p, parentField))) } : {};

  const routesBy = groupBy(s.routes, (r) => r.service?.id);
  const services = s.services.map((svc) => {
    const routes = (routesBy.get(svc.id) ?? []).map((r) => {
      nested.add(r);
      return { ...entry(schema('routes'), r, 'service'), ...plugins(routePlugins.get(r.id), 'route') };
    });
    return { ...entry(schema('services'), svc), ...(routes.length ? { routes } : {}), ...plugins(servicePlugins.get(svc.id), 'service') };
  });

  const consumers = s.consumers.map((c) => {
    const out: Row = entry(schema('consumers'), c);
    for (const kind of CONSUMER_CHILDREN) {
      const creds = s[kind].filter((k) => k.consumer?.id === c.id);
      if (creds.length) out[kind] = creds.map((k) => (nested.add(k), entry(schema(kind), k, 'consumer')));
    }
    return { ...out, ...plugins(consumerPlugins.get(c.id), 'consumer') };
  });

  const targetsBy = groupBy(s.targets, (t) => t.upstream?.id);
  const upstreams = s.upstreams.map((u) => {
    const targets = (targetsBy.get(u.id) ?? []).map((t) => (nested.add(t), entry(schema('targets'), t, 'upstream')));
    return { ...entry(schema('upstreams'), u), ...(targets.length ? { targets } : {}) };
  });

  const snisBy = groupBy(s.snis, (x) => x.certificate?.id);
  const certificates = s.certificates.map((c) => {
    const snis = (snisBy.get(c.id) ?? []).map((x) => (nested.add(x), entry(schema('snis'), x, 'certificate')));
    return { ...entry(schema('certificates'), c), ...(snis.length ? { snis } : {}) };
  });

  const rest = (name: string) => (s as any)[name].filter((r: Row) => !nested.has(r)).map((r: Row) => entry(schema(name), r));
  const doc: Record<string, unknown> = {
    _format_version: '3.0',
    // basic-auth passwords are exported hashed; loading must not hash them again
    _transform: false,
  };
  const put = (k: string, v: unknown[]) => {
    if (v.length) doc[k] = v;
  };
  put('ca_certificates', rest('ca_certificates'));
  put('certificates', certificates);
  put('snis', rest('snis'));
  put('services', services);
  put('routes', rest('routes'));
  put('consumers', consumers);
  put('upstreams', upstreams);
  put('targets', rest('targets'));
  put('plugins', rest('plugins'));
  for (const kind of CONSUMER_CHILDREN) put(kind, rest(kind));
  return doc;
}

/** YAML text of a snapshot in the 3.0 declarative format (for `config export` and GET /config). */
export function exportDeclarative(s: Snapshot): string {
  // YAML 1.1 so strings such as "yes" or "on" are quoted for 1.1 readers (ours and Kong's)
  return YAML.stringify(exportDeclarativeObject(s), { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false });
}
