import type { Registry } from "prom-client";
import { promClientLibrary } from "../../core/libraries.js";

/**
 * The two text formats `/metrics` speaks.
 *
 * @example
 * const format: ExpositionFormat = negotiateFormat(req.headers.accept);
 */
export type ExpositionFormat = "prometheus" | "openmetrics";

/**
 * The content type of a format, as Prometheus expects it.
 *
 * @example
 * res.setHeader("content-type", contentTypeOf(format));
 */
export function contentTypeOf(format: ExpositionFormat): string {
  const { Registry } = promClientLibrary();
  return format === "openmetrics" ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE;
}

/**
 * The format a scraper asked for in its `Accept` header: OpenMetrics when it rates
 * `application/openmetrics-text` higher than the classic text format, else the classic format.
 * Prometheus itself asks for OpenMetrics first.
 *
 * @example
 * negotiateFormat("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"); // "openmetrics"
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (!accept) return "prometheus";
  let openMetrics = 0;
  let text = 0;
  for (const part of accept.split(",")) {
    const [type = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith("q="));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!(q > 0)) continue;
    if (type === "application/openmetrics-text") openMetrics = Math.max(openMetrics, q);
    else if (type === "text/plain" || type === "*/*" || type === "text/*") text = Math.max(text, q);
  }
  return openMetrics > text ? "openmetrics" : "prometheus";
}

const escapeLabel = (value: string): string => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const escapeHelp = (value: string, format: ExpositionFormat): string => {
  const escaped = value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
  return format === "openmetrics" ? escaped.replace(/"/g, '\\"') : escaped;
};

function formatValue(value: number, format: ExpositionFormat): string {
  if (Number.isNaN(value)) return format === "openmetrics" ? "NaN" : "Nan";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function formatLabels(labels: Partial<Record<string, string | number>> | undefined, exclude?: object): string {
  let out = "";
  if (!labels) return out;
  for (const name in labels) {
    const value = labels[name];
    if (value === undefined || (exclude && Object.prototype.hasOwnProperty.call(exclude, name))) continue;
    out += `${out ? "," : ""}${name}="${typeof value === "number" ? value : escapeLabel(value)}"`;
  }
  return out;
}

interface Sample {
  value: number;
  labels?: Partial<Record<string, string | number>>;
  /** Labels common to a histogram's bucket, sum and count lines (prom-client's getForPromString). */
  sharedLabels?: Partial<Record<string, string | number>>;
  metricName?: string;
}

interface Family {
  name: string;
  help: string;
  type: unknown;
  values?: Sample[];
}

/** What prom-client's metrics all offer (its typings leave out getForPromString). */
interface PromMetric {
  get(): Promise<Family> | Family;
  getForPromString?(): Promise<Family> | Family;
}

/**
 * Renders a registry in either format without touching the registry's own state (prom-client
 * renders OpenMetrics only for a registry switched to it, and then renames its counters for good:
 * `_total` disappears from the classic format too). The classic format is byte for byte
 * prom-client's own, in a fraction of the time: label strings shared by a histogram's lines are
 * formatted once per series.
 *
 * @example
 * const text = await renderExposition(registry, negotiateFormat(req.headers.accept)); // for your own HTTP server
 */
export async function renderExposition(registry: Registry, format: ExpositionFormat): Promise<string> {
  const defaults = (registry as unknown as { _defaultLabels?: Record<string, string> })._defaultLabels;
  const families: Family[] = [];
  if (defaults && Object.keys(defaults).length > 0) {
    // Default labels are merged by prom-client's JSON form; the rare registry that has them takes the slower path.
    families.push(...((await registry.getMetricsAsJSON()) as unknown as Family[]));
  } else {
    for (const metric of registry.getMetricsAsArray() as unknown as PromMetric[]) {
      families.push(await (metric.getForPromString ? metric.getForPromString() : metric.get()));
    }
  }
  const openMetrics = format === "openmetrics";
  let out = "";
  let first = true;
  for (const metric of families) {
    const isCounter = String(metric.type) === "counter";
    const family = openMetrics && isCounter ? metric.name.replace(/_total$/, "") : metric.name;
    if (!openMetrics && !first) out += "\n";
    first = false;
    out += `# HELP ${family} ${escapeHelp(metric.help, format)}\n# TYPE ${family} ${String(metric.type)}\n`;
    let lastShared: object | undefined;
    let sharedText = "";
    for (const sample of metric.values ?? []) {
      const name = openMetrics && isCounter ? `${family}_total` : (sample.metricName ?? metric.name);
      let labels = formatLabels(sample.labels, sample.sharedLabels);
      if (sample.sharedLabels) {
        if (sample.sharedLabels !== lastShared) {
          lastShared = sample.sharedLabels;
          sharedText = formatLabels(sample.sharedLabels);
        }
        if (sharedText) labels = labels ? `${labels},${sharedText}` : sharedText;
      }
      out += `${name}${labels ? `{${labels}}` : ""} ${formatValue(sample.value, format)}\n`;
    }
  }
  return openMetrics ? `${out}# EOF\n` : out;
}
