// Scrape a /metrics endpoint and read it through a real Prometheus text-format parser.
// @ts-ignore: the package ships no type declarations
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

export interface Family {
  name: string;
  help: string;
  type: string;
  metrics: { labels?: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string; sum?: string }[];
}

/**
 * The parser folds a histogram's samples into one entry and loses their labels when the family has
 * labels (it only handles unlabelled histograms). So histogram families are also parsed a second
 * time declared untyped, where the parser keeps every `_bucket`/`_sum`/`_count` sample with its
 * labels, and regrouped here into one entry per label set. Type and HELP come from the first parse.
 */
export function parseMetrics(text: string): Family[] {
  const typed = parsePrometheusTextFormat(text) as Family[];
  const flat = parsePrometheusTextFormat(text.replace(/^(# TYPE \S+) histogram$/gm, '$1 untyped')) as Family[];
  for (const f of typed) {
    if (f.type !== 'HISTOGRAM') continue;
    const samples = (suffix: string) => flat.filter((x) => x.name === f.name + suffix).flatMap((x) => x.metrics); // untyped: one family per run of lines
    const key = (l: Record<string, string> = {}) => JSON.stringify(Object.entries(l).filter(([k]) => k !== 'le').sort());
    const groups = new Map<string, Family['metrics'][number]>();
    for (const b of samples('_bucket')) {
      const { le, ...labels } = b.labels ?? {};
      const k = key(b.labels);
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { labels, buckets: {} }));
      g.buckets![le] = b.value!;
    }
    for (const c of samples('_count')) {
      const g = groups.get(key(c.labels));
      if (g) g.count = c.value;
    }
    for (const c of samples('_sum')) {
      const g = groups.get(key(c.labels));
      if (g) g.sum = c.value;
    }
    f.metrics = [...groups.values()];
  }
  return typed;
}

export async function scrape(url: string): Promise<{ families: Family[]; contentType: string | null; text: string }> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  const text = await res.text();
  return { families: parseMetrics(text), contentType: res.headers.get('content-type'), text };
}

export function family(families: Family[], name: string): Family | undefined {
  return families.find((f) => f.name === name);
}

/** Series of a family whose labels include `labels`. */
export function series(families: Family[], name: string, labels: Record<string, string> = {}): Family['metrics'] {
  const f = family(families, name);
  if (!f) return [];
  return f.metrics.filter((m) => Object.entries(labels).every(([k, v]) => (m.labels ?? {})[k] === v));
}

/** The value of the one sample matching exactly `labels` (undefined when absent). */
export function value(families: Family[], name: string, labels: Record<string, string> = {}): number | undefined {
  const f = family(families, name);
  const m = f?.metrics.find((x) => {
    const l = x.labels ?? {};
    return Object.keys(l).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => l[k] === v);
  });
  return m?.value === undefined ? undefined : Number(m.value);
}
