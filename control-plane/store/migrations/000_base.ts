// Frozen: generated once from the entity schemas (control-plane/store/ddl.ts). Never edit; a schema
// change is a new migration file appended to control-plane/store/migrations/index.ts.
export const name = '000_base';

export const sql = `
CREATE TABLE "ca_certificates" (
  "id" uuid NOT NULL,
  "created_at" bigint,
  "updated_at" bigint,
  "cert" text,
  "cert_digest" text,
  "tags" text[],
  CONSTRAINT "ca_certificates_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "ca_certificates_cert_digest_key" UNIQUE ("cert_digest")
);
CREATE INDEX "ca_certificates_tags_idx" ON "ca_certificates" USING GIN ("tags");
CREATE INDEX "ca_certificates_created_at_id_idx" ON "ca_certificates" ("created_at", "id");

CREATE TABLE "certificates" (
  "id" uuid NOT NULL,
  "created_at" bigint,
  "updated_at" bigint,
  "cert" text,
  "key" text,
  "cert_alt" text,
  "key_alt" text,
  "tags" text[],
  CONSTRAINT "certificates_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "certificates_tags_idx" ON "certificates" USING GIN ("tags");
CREATE INDEX "certificates_created_at_id_idx" ON "certificates" ("created_at", "id");

CREATE TABLE "snis" (
  "id" uuid NOT NULL,
  "name" text,
  "created_at" bigint,
  "updated_at" bigint,
  "tags" text[],
  "certificate_id" uuid,
  CONSTRAINT "snis_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "snis_name_key" UNIQUE ("name"),
  CONSTRAINT "snis_certificate_fkey" FOREIGN KEY ("certificate_id") REFERENCES "certificates" ("id") ON DELETE CASCADE
);
CREATE INDEX "snis_tags_idx" ON "snis" USING GIN ("tags");
CREATE INDEX "snis_certificate_id_idx" ON "snis" ("certificate_id");
CREATE INDEX "snis_created_at_id_idx" ON "snis" ("created_at", "id");

CREATE TABLE "services" (
  "id" uuid NOT NULL,
  "created_at" bigint,
  "updated_at" bigint,
  "name" text,
  "retries" bigint,
  "protocol" text,
  "host" text,
  "port" bigint,
  "path" text,
  "connect_timeout" bigint,
  "write_timeout" bigint,
  "read_timeout" bigint,
  "tags" text[],
  "client_certificate_id" uuid,
  "tls_verify" boolean,
  "tls_verify_depth" bigint,
  "ca_certificates" jsonb,
  "enabled" boolean,
  CONSTRAINT "services_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "services_name_key" UNIQUE ("name"),
  CONSTRAINT "services_client_certificate_fkey" FOREIGN KEY ("client_certificate_id") REFERENCES "certificates" ("id") ON DELETE RESTRICT
);
CREATE INDEX "services_tags_idx" ON "services" USING GIN ("tags");
CREATE INDEX "services_client_certificate_id_idx" ON "services" ("client_certificate_id");
CREATE INDEX "services_created_at_id_idx" ON "services" ("created_at", "id");

CREATE TABLE "routes" (
  "id" uuid NOT NULL,
  "created_at" bigint,
  "updated_at" bigint,
  "name" text,
  "protocols" jsonb,
  "methods" jsonb,
  "hosts" jsonb,
  "paths" jsonb,
  "headers" jsonb,
  "https_redirect_status_code" bigint,
  "regex_priority" bigint,
  "strip_path" boolean,
  "path_handling" text,
  "preserve_host" boolean,
  "request_buffering" boolean,
  "response_buffering" boolean,
  "snis" jsonb,
  "sources" jsonb,
  "destinations" jsonb,
  "tags" text[],
  "service_id" uuid,
  CONSTRAINT "routes_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "routes_name_key" UNIQUE ("name"),
  CONSTRAINT "routes_service_fkey" FOREIGN KEY ("service_id") REFERENCES "services" ("id") ON DELETE RESTRICT
);
CREATE INDEX "routes_tags_idx" ON "routes" USING GIN ("tags");
CREATE INDEX "routes_service_id_idx" ON "routes" ("service_id");
CREATE INDEX "routes_created_at_id_idx" ON "routes" ("created_at", "id");

CREATE TABLE "consumers" (
  "id" uuid NOT NULL,
  "created_at" bigint,
  "updated_at" bigint,
  "username" text,
  "custom_id" text,
  "tags" text[],
  CONSTRAINT "consumers_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "consumers_username_key" UNIQUE ("username"),
  CONSTRAINT "consumers_custom_id_key" UNIQUE ("custom_id")
);
CREATE INDEX "consumers_tags_idx" ON "consumers" USING GIN ("tags");
CREATE INDEX "consumers_created_at_id_idx" ON "consumers" ("created_at", "id");

CREATE TABLE "upstreams" (
  "id" uuid NOT NULL,
  "created_at" bigint,
  "updated_at" bigint,
  "name" text,
  "algorithm" text,
  "hash_on" text,
  "hash_fallback" text,
  "hash_on_header" text,
  "hash_fallback_header" text,
  "hash_on_cookie" text,
  "hash_on_cookie_path" text,
  "hash_on_query_arg" text,
  "hash_fallback_query_arg" text,
  "hash_on_uri_capture" text,
  "hash_fallback_uri_capture" text,
  "slots" bigint,
  "healthchecks" jsonb,
  "tags" text[],
  "host_header" text,
  "client_certificate_id" uuid,
  "use_srv_name" boolean,
  CONSTRAINT "upstreams_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "upstreams_name_key" UNIQUE ("name"),
  CONSTRAINT "upstreams_client_certificate_fkey" FOREIGN KEY ("client_certificate_id") REFERENCES "certificates" ("id") ON DELETE RESTRICT
);
CREATE INDEX "upstreams_tags_idx" ON "upstreams" USING GIN ("tags");
CREATE INDEX "upstreams_client_certificate_id_idx" ON "upstreams" ("client_certificate_id");
CREATE INDEX "upstreams_created_at_id_idx" ON "upstreams" ("created_at", "id");

CREATE TABLE "targets" (
  "id" uuid NOT NULL,
  "created_at" double precision,
  "updated_at" double precision,
  "upstream_id" uuid,
  "target" text,
  "weight" bigint,
  "tags" text[],
  CONSTRAINT "targets_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "targets_upstream_fkey" FOREIGN KEY ("upstream_id") REFERENCES "upstreams" ("id") ON DELETE CASCADE
);
CREATE INDEX "targets_upstream_id_idx" ON "targets" ("upstream_id");
CREATE INDEX "targets_tags_idx" ON "targets" USING GIN ("tags");
CREATE INDEX "targets_created_at_id_idx" ON "targets" ("created_at", "id");

CREATE TABLE "plugins" (
  "id" uuid NOT NULL,
  "name" text,
  "instance_name" text,
  "created_at" bigint,
  "updated_at" bigint,
  "route_id" uuid,
  "service_id" uuid,
  "consumer_id" uuid,
  "config" jsonb,
  "protocols" jsonb,
  "enabled" boolean,
  "tags" text[],
  CONSTRAINT "plugins_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "plugins_instance_name_key" UNIQUE ("instance_name"),
  CONSTRAINT "plugins_route_fkey" FOREIGN KEY ("route_id") REFERENCES "routes" ("id") ON DELETE CASCADE,
  CONSTRAINT "plugins_service_fkey" FOREIGN KEY ("service_id") REFERENCES "services" ("id") ON DELETE CASCADE,
  CONSTRAINT "plugins_consumer_fkey" FOREIGN KEY ("consumer_id") REFERENCES "consumers" ("id") ON DELETE CASCADE
);
CREATE INDEX "plugins_route_id_idx" ON "plugins" ("route_id");
CREATE INDEX "plugins_service_id_idx" ON "plugins" ("service_id");
CREATE INDEX "plugins_consumer_id_idx" ON "plugins" ("consumer_id");
CREATE INDEX "plugins_tags_idx" ON "plugins" USING GIN ("tags");
CREATE INDEX "plugins_created_at_id_idx" ON "plugins" ("created_at", "id");
CREATE UNIQUE INDEX "plugins_scope_key" ON "plugins" ("name", COALESCE("route_id", '00000000-0000-0000-0000-000000000000'::uuid), COALESCE("service_id", '00000000-0000-0000-0000-000000000000'::uuid), COALESCE("consumer_id", '00000000-0000-0000-0000-000000000000'::uuid));

CREATE TABLE "jwt_secrets" (
  "id" uuid NOT NULL,
  "created_at" bigint,
  "consumer_id" uuid,
  "key" text,
  "secret" text,
  "rsa_public_key" text,
  "algorithm" text,
  "tags" text[],
  CONSTRAINT "jwt_secrets_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "jwt_secrets_consumer_fkey" FOREIGN KEY ("consumer_id") REFERENCES "consumers" ("id") ON DELETE CASCADE,
  CONSTRAINT "jwt_secrets_key_key" UNIQUE ("key")
);
CREATE INDEX "jwt_secrets_consumer_id_idx" ON "jwt_secrets" ("consumer_id");
CREATE INDEX "jwt_secrets_tags_idx" ON "jwt_secrets" USING GIN ("tags");
CREATE INDEX "jwt_secrets_created_at_id_idx" ON "jwt_secrets" ("created_at", "id");

CREATE TABLE "keyauth_credentials" (
  "id" uuid NOT NULL,
  "created_at" bigint,
  "consumer_id" uuid,
  "key" text,
  "tags" text[],
  CONSTRAINT "keyauth_credentials_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "keyauth_credentials_consumer_fkey" FOREIGN KEY ("consumer_id") REFERENCES "consumers" ("id") ON DELETE CASCADE,
  CONSTRAINT "keyauth_credentials_key_key" UNIQUE ("key")
);
CREATE INDEX "keyauth_credentials_consumer_id_idx" ON "keyauth_credentials" ("consumer_id");
CREATE INDEX "keyauth_credentials_tags_idx" ON "keyauth_credentials" USING GIN ("tags");
CREATE INDEX "keyauth_credentials_created_at_id_idx" ON "keyauth_credentials" ("created_at", "id");

CREATE TABLE "basicauth_credentials" (
  "id" uuid NOT NULL,
  "created_at" bigint,
  "consumer_id" uuid,
  "username" text,
  "password" text,
  "tags" text[],
  CONSTRAINT "basicauth_credentials_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "basicauth_credentials_consumer_fkey" FOREIGN KEY ("consumer_id") REFERENCES "consumers" ("id") ON DELETE CASCADE,
  CONSTRAINT "basicauth_credentials_username_key" UNIQUE ("username")
);
CREATE INDEX "basicauth_credentials_consumer_id_idx" ON "basicauth_credentials" ("consumer_id");
CREATE INDEX "basicauth_credentials_tags_idx" ON "basicauth_credentials" USING GIN ("tags");
CREATE INDEX "basicauth_credentials_created_at_id_idx" ON "basicauth_credentials" ("created_at", "id");

CREATE TABLE "acls" (
  "id" uuid NOT NULL,
  "created_at" bigint,
  "consumer_id" uuid,
  "group" text,
  "tags" text[],
  CONSTRAINT "acls_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "acls_consumer_fkey" FOREIGN KEY ("consumer_id") REFERENCES "consumers" ("id") ON DELETE CASCADE
);
CREATE INDEX "acls_consumer_id_idx" ON "acls" ("consumer_id");
CREATE INDEX "acls_tags_idx" ON "acls" USING GIN ("tags");
CREATE INDEX "acls_created_at_id_idx" ON "acls" ("created_at", "id");

CREATE TABLE "config_changes" (
  "version" bigserial PRIMARY KEY,
  "entity" text NOT NULL,
  "entity_id" uuid NOT NULL,
  "op" text NOT NULL,
  "created_at" timestamptz NOT NULL DEFAULT now()
);
`;
