import "reflect-metadata";
import { IsInt, Max, Min } from "class-validator";
import { McpServer, MetricsCollector, MetricsMiddleware, PrometheusMiddleware, Server, Tool, ToolError } from "lantern-mcp";
import { Registry } from "prom-client";

export class Quantity {
  @IsInt() @Min(1) @Max(1000) quantity!: number;
}

/**
 * One replica of a stock service: run several behind a load balancer and point one Prometheus at
 * all of them (scripts/prometheus-e2e.mjs does exactly that with two).
 */
@Server({ name: "stock", version: "1.0.0" })
export class Stock {
  private reserved = 0;

  @Tool({ description: "Reserve units of stock" })
  reserve(input: Quantity) {
    this.reserved += input.quantity;
    return { reserved: this.reserved };
  }

  @Tool({ description: "Cancel a reservation (fails when more is cancelled than was reserved)" })
  cancel(input: Quantity) {
    if (input.quantity > this.reserved) throw new ToolError(`Only ${this.reserved} units are reserved`);
    this.reserved -= input.quantity;
    return { reserved: this.reserved };
  }
}

const server = new McpServer(Stock);
const metrics = new MetricsCollector();
// METRICS_TOKEN unset: /metrics is open (on loopback). An undefined bearerToken would be refused, so leave the key out.
const metricsToken = process.env.METRICS_TOKEN;
server.use(new PrometheusMiddleware({ namespace: "stock", registry: new Registry(), ...(metricsToken ? { bearerToken: metricsToken } : {}) }));
server.use(new MetricsMiddleware(metrics));
metrics.registerResource(server);
const running = await server.listen({ transport: "http", port: Number(process.env.PORT ?? 3000) });
// One JSON line on stdout, so a supervisor (or the end-to-end script) learns the port picked for PORT=0.
process.stdout.write(`${JSON.stringify({ url: running.url, port: running.port, metrics: `http://127.0.0.1:${running.port}/metrics` })}\n`);
