// DDL generated from entity schemas. Used to write a migration's SQL once (migrations are frozen
// text: see migrations/), and by the drift test that compares the migrated database with the
// current schemas. Never run directly against a database.
import type { EntitySchema } from '../../shared/schema/types.js';
import {
  columnsOf,
  foreignConstraint,
  primaryKeyConstraint,
  quoteIdent as q,
  scopeConstraint,
  sqlType,
  uniqueConstraint,
  ZERO_UUID,
} from './columns.js';

const ON_DELETE = { cascade: 'CASCADE', restrict: 'RESTRICT', null: 'SET NULL' } as const;

export function tableDdl(schema: EntitySchema): string {
  const t = schema.name;
  const lines: string[] = [];
  const constraints: string[] = [`CONSTRAINT ${q(primaryKeyConstraint(t))} PRIMARY KEY (${q('id')})`];
  const after: string[] = [];
  for (const col of columnsOf(schema)) {
    lines.push(`  ${q(col.name)} ${sqlType(col)}${col.field === 'id' ? ' NOT NULL' : ''}`);
    if (col.def.unique) constraints.push(`CONSTRAINT ${q(uniqueConstraint(t, col.field))} UNIQUE (${q(col.name)})`);
    if (col.kind === 'foreign') {
      const rule = ON_DELETE[col.def.on_delete ?? 'cascade'];
      constraints.push(
        `CONSTRAINT ${q(foreignConstraint(t, col.field))} FOREIGN KEY (${q(col.name)}) REFERENCES ${q(col.def.reference!)} (${q('id')}) ON DELETE ${rule}`,
      );
      after.push(`CREATE INDEX ${q(`${t}_${col.name}_idx`)} ON ${q(t)} (${q(col.name)});`);
    }
    if (col.kind === 'tags') after.push(`CREATE INDEX ${q(`${t}_tags_idx`)} ON ${q(t)} USING GIN (${q(col.name)});`);
  }
  if (columnsOf(schema).some((c) => c.field === 'created_at'))
    after.push(`CREATE INDEX ${q(`${t}_created_at_id_idx`)} ON ${q(t)} (${q('created_at')}, ${q('id')});`);
  if (schema.unique_across) {
    const cols = columnsOf(schema);
    const parts = schema.unique_across.map((f) => {
      const c = cols.find((x) => x.field === f)!;
      return c.kind === 'foreign' ? `COALESCE(${q(c.name)}, '${ZERO_UUID}'::uuid)` : q(c.name);
    });
    after.push(`CREATE UNIQUE INDEX ${q(scopeConstraint(t))} ON ${q(t)} (${parts.join(', ')});`);
  }
  const body = [...lines, ...constraints.map((c) => `  ${c}`)].join(',\n');
  return [`CREATE TABLE ${q(t)} (\n${body}\n);`, ...after].join('\n');
}

/** Every entity table (schemas in dependency order) plus the change log. */
export function baseDdl(schemas: EntitySchema[]): string {
  return [
    ...schemas.map(tableDdl),
    `CREATE TABLE "config_changes" (
  "version" bigserial PRIMARY KEY,
  "entity" text NOT NULL,
  "entity_id" uuid NOT NULL,
  "op" text NOT NULL,
  "created_at" timestamptz NOT NULL DEFAULT now()
);`,
  ].join('\n\n');
}
