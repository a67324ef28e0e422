// The data planes known to the cluster (Kong's clustering_data_planes): written by every control
// plane's sync server, read by GET /clustering/data-planes on any of them. Not config: rows are
// never in the change log. last_seen is indexed for the purge of rows past the purge delay.
export const name = '001_clustering_data_planes';

export const sql = `
CREATE TABLE "clustering_data_planes" (
  "id" text NOT NULL,
  "hostname" text,
  "ip" text,
  "version" text,
  "sync_status" text NOT NULL DEFAULT 'unknown',
  "config_hash" text,
  "config_version" bigint,
  "labels" jsonb,
  "last_error" text,
  "last_seen" timestamptz NOT NULL DEFAULT now(),
  "updated_at" timestamptz NOT NULL DEFAULT now(),
  "cert_details" jsonb,
  CONSTRAINT "clustering_data_planes_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "clustering_data_planes_last_seen_idx" ON "clustering_data_planes" ("last_seen");
`;
