import { negotiateFormat, renderExposition } from "../../../src/observability/prometheus/exposition.js";
import { Counter, Gauge, Histogram, Registry } from "prom-client";

describe("negotiateFormat", () => {
  test.each([
    [undefined, "prometheus"],
    ["*/*", "prometheus"],
    ["text/plain;version=0.0.4", "prometheus"],
    ["application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5", "openmetrics"],
    ["application/openmetrics-text;q=0.2,text/plain;q=0.9", "prometheus"],
    ["application/openmetrics-text;q=0", "prometheus"],
  ])("Accept %p → %s", (accept, expected) => {
    expect(negotiateFormat(accept)).toBe(expected);
  });
});

describe("renderExposition", () => {
  const registry = new Registry();
  const counter = new Counter({ name: "x_calls_total", help: 'Calls with "quotes" and a \\ backslash', labelNames: ["tool"], registers: [registry] });
  const histogram = new Histogram({ name: "x_seconds", help: "Durations", labelNames: ["tool"], buckets: [0.1, 1], registers: [registry] });
  const gauge = new Gauge({ name: "x_in_flight", help: "In flight", labelNames: ["tool"], registers: [registry] });
  counter.labels('we"ird\n').inc(2);
  histogram.labels("a").observe(0.5);
  gauge.labels("a").set(3);

  test("the classic format is exactly prom-client's own rendering", async () => {
    expect(await renderExposition(registry, "prometheus")).toBe(await registry.metrics());
  });

  test("with default labels and an empty metric, still exactly prom-client's rendering", async () => {
    const labelled = new Registry();
    labelled.setDefaultLabels({ replica: "a" });
    new Histogram({ name: "y_seconds", help: "Durations", labelNames: ["tool"], buckets: [1], registers: [labelled] }).labels("t").observe(2);
    new Counter({ name: "y_unused_total", help: "Never incremented", labelNames: ["tool"], registers: [labelled] });
    // Same lines; only the order of labels inside the braces may differ.
    const sortLabels = (text: string) => text.replace(/\{([^}]*)\}/g, (_, inner: string) => `{${inner.split(",").sort().join(",")}}`);
    expect(sortLabels(await renderExposition(labelled, "prometheus"))).toBe(sortLabels(await labelled.metrics()));
    expect(await renderExposition(labelled, "prometheus")).toContain('y_seconds_count{tool="t",replica="a"} 1');
  });

  test("OpenMetrics: counter families without _total, samples with it, # EOF at the end", async () => {
    const text = await renderExposition(registry, "openmetrics");
    expect(text).toBe(
      [
        '# HELP x_calls Calls with \\"quotes\\" and a \\\\ backslash',
        "# TYPE x_calls counter",
        'x_calls_total{tool="we\\"ird\\n"} 2',
        "# HELP x_seconds Durations",
        "# TYPE x_seconds histogram",
        'x_seconds_bucket{le="0.1",tool="a"} 0',
        'x_seconds_bucket{le="1",tool="a"} 1',
        'x_seconds_bucket{le="+Inf",tool="a"} 1',
        'x_seconds_sum{tool="a"} 0.5',
        'x_seconds_count{tool="a"} 1',
        "# HELP x_in_flight In flight",
        "# TYPE x_in_flight gauge",
        'x_in_flight{tool="a"} 3',
        "# EOF",
        "",
      ].join("\n"),
    );
    // The registry itself was not switched or renamed.
    expect(await registry.metrics()).toContain("x_calls_total{");
  });
});
