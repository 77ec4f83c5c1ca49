import "reflect-metadata";
import { trace } from "@opentelemetry/api";
import { IsString, Matches } from "class-validator";
import { Inject, Server, ServerLogger, Tool, ToolError, Traced } from "lantern-mcp";

class OrderRef {
  @IsString() @Matches(/^[A-Z]-\d+$/) id!: string;
}

/** The tool code's own tracer: its spans nest under the call's span Lantern starts. */
const tracer = trace.getTracer("order-api");

const ORDERS = new Map([
  ["A-1", { id: "A-1", state: "shipped", items: 3 }],
  ["A-2", { id: "A-2", state: "delivered", items: 1 }],
]);

/**
 * An order service traced end to end: every tool call is a SERVER span (`@Traced`), and the tools
 * start child spans of their own for the work inside (a lookup, a carrier call).
 */
@Server({ name: "order-api", version: "1.0.0" })
@Traced()
export class OrderApi {
  @Tool({ description: "Look an order up by id (A-1, A-2, ...)" })
  async getOrder(input: OrderRef) {
    return tracer.startActiveSpan("orders.lookup", async (span) => {
      try {
        await new Promise((resolve) => setImmediate(resolve));
        const order = ORDERS.get(input.id);
        span.setAttribute("orders.found", order !== undefined);
        if (!order) throw new ToolError(`No order with id ${input.id}`);
        return order;
      } finally {
        span.end();
      }
    });
  }

  @Tool({ description: "Cancel an order that has not shipped" })
  async cancelOrder(input: OrderRef, @Inject(ServerLogger) logger: ServerLogger) {
    await logger.info(`Cancelling ${input.id}`);
    return tracer.startActiveSpan("carrier.cancel", async (span) => {
      try {
        throw new Error(`the carrier refused to cancel ${input.id}`);
      } finally {
        span.end();
      }
    });
  }
}
