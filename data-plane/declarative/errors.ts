// Collecting every problem of a declarative file at once: Kong's nested `fields` tree (arrays
// padded with null for valid siblings), a message naming each problem by its path, and the
// per-entity flat list Kong returns for ?flatten_errors=1.
import { ERR, KongError } from '../../shared/errors.js';
import type { ErrorTree } from '../../shared/schema/types.js';

export type PathSegment = string | number;

export interface FlatEntityError {
  type: 'entity' | 'field';
  /** Field path inside the entity, e.g. `paths[1]` or `config.minute` (field errors only). */
  field?: string;
  message: string;
}

export interface FlatDeclarativeError {
  /** Singular entity type as Kong reports it (`service`, `route`, `keyauth_credential`); null for top-level keys. */
  entity_type: string | null;
  entity_id: string | null;
  entity_name: string | null;
  entity_tags: string[] | null;
  /** Where the entity is in the file, e.g. `services[1].routes[2]` (empty for top-level keys). */
  path: string;
  /** The entity as written in the file (without nested children). */
  entity: Record<string, unknown> | null;
  errors: FlatEntityError[];
}

/** An `invalid declarative configuration` (code 14) error that also carries the flat list. */
export class DeclarativeConfigError extends KongError {
  constructor(
    fields: ErrorTree,
    message: string,
    readonly flattened: FlatDeclarativeError[],
  ) {
    super(ERR.DECLARATIVE_CONFIG, message, fields as Record<string, unknown>);
  }
}

/** `services[1].routes[2].paths[1]` from ['services', 0, 'routes', 1, 'paths', 0]. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const s of path) out += typeof s === 'number' ? `[${s + 1}]` : out === '' ? s : `.${s}`;
  return out;
}

/** Leaf messages of an error tree, each with its field path relative to the tree. */
export function treeMessages(tree: unknown, prefix: PathSegment[] = []): { field: PathSegment[]; message: string }[] {
  const out: { field: PathSegment[]; message: string }[] = [];
  if (tree === null || tree === undefined) return out;
  if (typeof tree !== 'object') {
    out.push({ field: prefix, message: String(tree) });
    return out;
  }
  if (Array.isArray(tree)) {
    tree.forEach((v, i) => out.push(...treeMessages(v, [...prefix, i])));
    return out;
  }
  const o = tree as Record<string, unknown>;
  const entity = o['@entity'];
  if (entity !== undefined) {
    for (const m of Array.isArray(entity) ? entity : [entity]) out.push({ field: prefix, message: String(m) });
  }
  for (const k of Object.keys(o).sort()) {
    if (k !== '@entity') out.push(...treeMessages(o[k], [...prefix, k]));
  }
  return out;
}

function singular(name: string): string {
  return name.endsWith('s') ? name.slice(0, -1) : name;
}

export interface ErrorOwner {
  entity: string;
  path: PathSegment[];
  seq: number;
  raw: Record<string, unknown>;
  id?: string;
}

interface Entry {
  owner: ErrorOwner | null;
  path: PathSegment[];
  seq: number;
  messages: { field: PathSegment[]; message: string }[];
}

export class ErrorCollector {
  private readonly root: Record<string, unknown> = {};
  private readonly entries = new Map<string, Entry>();

  get empty(): boolean {
    return this.entries.size === 0;
  }

  /** An error tree (field → message) for the entity or top-level key at `path`. */
  addTree(path: PathSegment[], tree: ErrorTree | string, owner: ErrorOwner | null = null): void {
    const existing = this.nodeAt(path);
    if (typeof tree === 'string') this.setAt(path, existing === undefined ? tree : mergeTrees(existing, { '@entity': [tree] }));
    else this.setAt(path, existing === undefined ? tree : mergeTrees(existing, tree));
    const msgs = treeMessages(tree);
    // top-level problems share one entry; their field is the whole path
    for (const m of msgs) if (!owner) m.field = [...path, ...m.field];
    this.entry(path, owner).messages.push(...msgs);
  }

  /** One message about a field of the entity at `path`. */
  addField(path: PathSegment[], field: string, message: string, owner: ErrorOwner | null = null): void {
    this.addTree(path, { [field]: message }, owner);
  }

  /**
   * An entity-level problem. Kong puts uniqueness violations as a bare string in place of the
   * entity; when the entity has other errors too, it joins them under `@entity`.
   */
  addEntity(path: PathSegment[], message: string, owner: ErrorOwner | null = null): void {
    this.addTree(path, message, owner);
  }

  toError(): DeclarativeConfigError {
    const entries = [...this.entries.values()].sort((a, b) => a.seq - b.seq);
    const lines: string[] = [];
    const flattened: FlatDeclarativeError[] = [];
    for (const e of entries) {
      for (const m of e.messages) lines.push(`${formatPath([...e.path, ...m.field])}: ${m.message}`);
      const raw = e.owner?.raw ?? null;
      flattened.push({
        entity_type: e.owner ? singular(e.owner.entity) : null,
        entity_id: typeof raw?.id === 'string' ? raw.id : (e.owner?.id ?? null),
        entity_name: typeof raw?.name === 'string' ? raw.name : null,
        entity_tags: Array.isArray(raw?.tags) && raw.tags.every((t) => typeof t === 'string') ? (raw.tags as string[]) : null,
        path: e.owner ? formatPath(e.path) : '',
        entity: raw,
        errors: e.messages.map((m) =>
          m.field.length === 0 ? { type: 'entity' as const, message: m.message } : { type: 'field' as const, field: formatPath(m.field), message: m.message },
        ),
      });
    }
    const message = `declarative config is invalid: ${lines.join('; ')}`;
    return new DeclarativeConfigError(this.root as ErrorTree, message, flattened);
  }

  private entry(path: PathSegment[], owner: ErrorOwner | null): Entry {
    const key = owner ? formatPath(path) : '';
    let e = this.entries.get(key);
    if (!e) {
      e = { owner, path: owner ? path : [], seq: owner ? owner.seq : -1, messages: [] };
      this.entries.set(key, e);
    }
    return e;
  }

  private nodeAt(path: PathSegment[]): unknown {
    let node: any = this.root;
    for (const s of path) {
      if (node === null || typeof node !== 'object') return undefined;
      node = node[s];
    }
    return node ?? undefined;
  }

  private setAt(path: PathSegment[], value: unknown): void {
    if (path.length === 0) {
      Object.assign(this.root, value as object);
      return;
    }
    let node: any = this.root;
    for (let i = 0; i < path.length - 1; i++) {
      const s = path[i];
      const nextIsIndex = typeof path[i + 1] === 'number';
      if (node[s] === undefined || node[s] === null || typeof node[s] !== 'object') {
        node[s] = nextIsIndex ? [] : {};
      }
      if (Array.isArray(node[s])) padArray(node[s], path[i + 1] as number);
      node = node[s];
    }
    node[path[path.length - 1]] = value;
  }
}

/** Kong's JSON arrays of errors hold null for the valid entries before an invalid one. */
function padArray(a: unknown[], upTo: number): void {
  for (let i = a.length; i < upTo; i++) a[i] = null;
}

function mergeTrees(a: unknown, b: unknown): unknown {
  if (typeof a === 'string') a = { '@entity': [a] };
  if (typeof b === 'string') b = { '@entity': [b] };
  if (Array.isArray(a) || Array.isArray(b) || typeof a !== 'object' || typeof b !== 'object' || !a || !b) return b;
  const out: Record<string, unknown> = { ...(a as object) };
  for (const [k, v] of Object.entries(b as object)) {
    if (out[k] === undefined) out[k] = v;
    else if (k === '@entity') out[k] = [...(out[k] as string[]), ...(v as string[])];
    else out[k] = mergeTrees(out[k], v);
  }
  return out;
}

/**
 * The flat list of problems (Kong's ?flatten_errors=1 shape plus `path`), one entry per entity
 * with all its errors, and one entry (entity_type null) for top-level keys such as _format_version.
 */
export function flattenDeclarativeErrors(err: KongError): FlatDeclarativeError[] {
  if (err instanceof DeclarativeConfigError) return err.flattened;
  const fields = (err.body.fields ?? {}) as ErrorTree;
  return [
    {
      entity_type: null,
      entity_id: null,
      entity_name: null,
      entity_tags: null,
      path: '',
      entity: null,
      errors: treeMessages(fields).map((m) => ({ type: 'field' as const, field: formatPath(m.field), message: m.message })),
    },
  ];
}
