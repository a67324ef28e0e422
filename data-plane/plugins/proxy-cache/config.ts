// The proxy-cache config as the schema (shared/plugins/proxy-cache.ts) fills it.
export interface ProxyCacheConfig {
  response_code: number[];
  request_method: string[];
  content_type: string[];
  cache_ttl: number;
  strategy: 'memory' | 'redis';
  cache_control: boolean;
  ignore_uri_case: boolean;
  storage_ttl: number | null;
  memory: { dictionary_name: string; max_bytes: number };
  redis: RedisConfig;
  vary_query_params: string[] | null;
  vary_headers: string[] | null;
  response_headers: { age: boolean; 'X-Cache-Status': boolean; 'X-Cache-Key': boolean };
  cache_set_cookie: boolean;
  cache_authenticated: boolean;
}

export interface RedisConfig {
  host: string | null;
  port: number;
  timeout: number;
  username: string | null;
  password: string | null;
  database: number;
  ssl: boolean;
  ssl_verify: boolean;
  server_name: string | null;
}
