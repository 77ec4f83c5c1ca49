import "reflect-metadata";
import { IsString } from "class-validator";
import { CallContext, Inject, LanternErrorCode, RateLimit, Server, Tool } from "lantern-mcp";
import type { TestClient } from "lantern-mcp/testing";

export class Text {
  @IsString() text!: string;
}

/** A server with a limited tool, a costly one, one without a limit and one that waits until told. */
@Server({ name: "limited", version: "1.0.0" })
export class Limited {
  /** Resolvers of the `hold` calls in flight, in the order they started. */
  static held: (() => void)[] = [];
  static started: (() => void) | undefined;

  @RateLimit({ points: 3, per: "1h" })
  @Tool({ description: "Echo, three times an hour per caller" })
  echo(input: Text) {
    return input.text;
  }

  @RateLimit({ points: 10, per: "1d", cost: 4 })
  @Tool({ description: "An expensive report: 4 points of 10 a day" })
  report() {
    return "report";
  }

  @Tool({ description: "Unlimited" })
  free() {
    return "free";
  }

  @Tool({ description: "Waits until the test releases it" })
  async hold() {
    await new Promise<void>((resolve) => {
      Limited.held.push(resolve);
      Limited.started?.();
    });
    return "held";
  }

  @Tool({ description: "Where the call came from" })
  whereFrom(@Inject(CallContext) ctx: CallContext) {
    return { remoteAddress: ctx.remoteAddress ?? null, clientId: ctx.clientId };
  }
}

/** The JSON-RPC error a call rejected with (fails the test when it did not reject). */
export async function refusal(call: Promise<unknown>): Promise<{ code: number; message: string; data: Record<string, unknown> }> {
  const outcome = await call.then(
    () => undefined,
    (error: { code: number; message: string; data: Record<string, unknown> }) => error,
  );
  if (!outcome) throw new Error("expected the call to be refused, but it succeeded");
  return outcome;
}

/** Calls `tool` until it is refused (at most `max` times); resolves to how many calls succeeded. */
export async function callsUntilRefused(client: TestClient, tool: string, args: Record<string, unknown> = {}, max = 1000): Promise<number> {
  for (let ok = 0; ok < max; ok++) {
    try {
      await client.callTool(tool, args);
    } catch (error) {
      if ((error as { code?: number }).code === LanternErrorCode.RateLimited) return ok;
      throw error;
    }
  }
  throw new Error(`"${tool}" was never refused in ${max} calls`);
}
