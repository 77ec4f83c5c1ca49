import "reflect-metadata";
import { EventEmitter, once } from "node:events";
import { ProtocolError as McpError } from "@modelcontextprotocol/client";
import { IsInt, Max, Min } from "class-validator";
import { CallContext, Inject, McpServer, Server, Tool } from "lantern-mcp";
import { createTestClient } from "lantern-mcp/testing";

class Hang {
  @IsInt() @Min(1) @Max(10_000) ms!: number;
}

const aborted: string[] = [];
/** "started" when a tool begins waiting, "aborted" when its signal ends the wait. */
const toolEvents = new EventEmitter();

/** Waits `ms`, or until the call's signal aborts. */
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      aborted.push(String((signal.reason as Error)?.name ?? signal.reason));
      toolEvents.emit("aborted");
      resolve();
    }, { once: true });
    toolEvents.emit("started");
  });

@Server({ name: "slow", version: "1.0.0" })
class Slow {
  @Tool({ description: "Hangs past its limit", timeoutMs: 50 })
  async limited(input: Hang, @Inject(AbortSignal) signal: AbortSignal) {
    await sleep(input.ms, signal);
    return "finished";
  }

  @Tool({ description: "Uses the server default limit" })
  async defaulted(input: Hang, @Inject(AbortSignal) signal: AbortSignal) {
    await sleep(input.ms, signal);
    return "finished";
  }

  @Tool({ description: "Waits until cancelled" })
  async waits(input: Hang, @Inject(CallContext) ctx: CallContext) {
    await sleep(input.ms, ctx.signal);
    return "finished";
  }
}

describe("timeouts and cancellation", () => {
  afterEach(() => { aborted.length = 0; });

  /** The calls the server saw end; `next()` resolves when the next one ends. */
  const watch = (server: McpServer) => {
    const ended: { name: string; status?: string }[] = [];
    const events = new EventEmitter();
    server.observeCalls((ctx) => {
      ended.push({ name: ctx.name, status: ctx.outcome?.status });
      events.emit("ended");
    });
    // Not enumerable: the array is compared with toEqual.
    return Object.defineProperty(ended, "next", { value: () => once(events, "ended") }) as typeof ended & { next: () => Promise<unknown[]> };
  };

  it("ends a call that runs past @Tool({ timeoutMs }) with a JSON-RPC error and aborts its signal", async () => {
    const server = new McpServer(Slow, { defaultTimeoutMs: 60_000 });
    const ended = watch(server);
    const client = await createTestClient(server);
    const error = (await client.callTool("limited", { ms: 5000 }).catch((e: unknown) => e)) as McpError;
    expect(error).toBeInstanceOf(McpError);
    expect(error.code).toBe(-32004);
    expect(error.message).toContain('"limited" timed out after 50 ms');
    expect(aborted).toEqual(["TimeoutError"]);
    expect(ended).toEqual([{ name: "limited", status: "timeout" }]);
    expect((await client.callTool("limited", { ms: 1 })).content).toEqual([{ type: "text", text: "finished" }]);
    await client.close();
    await server.close();
  });

  it("applies the server-wide default limit", async () => {
    const server = new McpServer(Slow, { defaultTimeoutMs: 30 });
    const client = await createTestClient(server);
    const error = (await client.callTool("defaulted", { ms: 5000 }).catch((e: unknown) => e)) as McpError;
    expect(error.message).toContain('"defaulted" timed out after 30 ms');
    await client.close();
    await server.close();
  });

  it("aborts the injected signal when the client cancels, records it as cancelled and frees the slot", async () => {
    const server = new McpServer(Slow);
    const ended = watch(server);
    const client = await createTestClient(server);
    const controller = new AbortController();
    const started = once(toolEvents, "started");
    const call = client.callTool("waits", { ms: 5000 }, { signal: controller.signal });
    await started;
    const callEnded = ended.next();
    controller.abort("user pressed stop");
    await expect(call).rejects.toThrow();
    await callEnded;
    expect(aborted).toHaveLength(1);
    expect(ended).toEqual([{ name: "waits", status: "cancelled" }]);
    const host = await server.build();
    expect(host.activeCalls).toBe(0);
    await client.close();
    await server.close();
  });
});
