import { IsOptional, IsString } from "class-validator";
import {
  acceptedContent,
  CallContext,
  Elicitor,
  Inject,
  inputRequired,
  Prompt,
  Roots,
  Sampler,
  Server,
  ServerLogger,
  Tool,
  type ElicitationForm,
} from "lantern-mcp";

const NAME_FORM: ElicitationForm = { type: "object", properties: { name: { type: "string" } }, required: ["name"] };
const COLOR_FORM: ElicitationForm = { type: "object", properties: { color: { type: "string" } }, required: ["color"] };
const CONTEXT_FORM: ElicitationForm = { type: "object", properties: { context: { type: "string" } }, required: ["context"] };
const CONFIRM_FORM: ElicitationForm = { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] };

class PromptContextArguments {
  @IsOptional() @IsString() topic?: string;
}

/** Adds tools and prompts while the server runs (the list-changed scenarios); provided by main.ts. */
export class DynamicSurface {
  constructor(
    readonly addTool: () => string,
    readonly addPrompt: () => string,
  ) {}
}

/**
 * The MCP 2026-07-28 scenarios of the conformance suite: asking the client for input inside a call
 * (multi-round-trip), written with Lantern's injected helpers (they ask, the round ends, the tool
 * runs again with the answer) and, for the request-state scenario, with the explicit
 * `inputRequired(...)` form.
 */
@Server({ name: "lantern-conformance-multi-round-trip", version: "1.0.0" })
export class MultiRoundTripTools {
  @Tool({ description: "Asks the user's name (one elicitation round)" })
  async testInputRequiredResultElicitation(@Inject(Elicitor) elicitor: Elicitor) {
    const answer = await elicitor.form<{ name: string }>("What is your name?", NAME_FORM, { key: "user_name" });
    return answer.action === "accept" ? `Hello, ${answer.content.name}!` : `No name given (${answer.action})`;
  }

  @Tool({ description: "Asks the client's LLM a question (one sampling round)" })
  async testInputRequiredResultSampling(@Inject(Sampler) sampler: Sampler) {
    const text = await sampler.ask("What is the capital of France?", { maxTokens: 100, key: "capital_question" });
    return `The model answered: ${text}`;
  }

  @Tool({ description: "Lists the client's roots (one roots round)" })
  async testInputRequiredResultListRoots(@Inject(Roots) roots: Roots) {
    const list = await roots.list({ key: "client_roots" });
    return `Client roots: ${list.map((r) => r.uri).join(", ")}`;
  }

  @Tool({ description: "Round-trips its own requestState (the explicit inputRequired form)" })
  testInputRequiredResultRequestState(@Inject(CallContext) ctx: CallContext) {
    if (ctx.requestState === "awaiting-confirmation") {
      const confirmed = acceptedContent<{ ok: boolean }>(ctx.inputResponses, "confirm");
      return `state-ok: confirmation ${confirmed?.ok ? "given" : "not given"}`;
    }
    return inputRequired({
      inputRequests: { confirm: inputRequired.elicit({ message: "Please confirm", requestedSchema: CONFIRM_FORM }) },
      requestState: "awaiting-confirmation",
    });
  }

  @Tool({ description: "Asks for a name, a greeting and the roots at once" })
  async testInputRequiredResultMultipleInputs(@Inject(Elicitor) elicitor: Elicitor, @Inject(Sampler) sampler: Sampler, @Inject(Roots) roots: Roots) {
    const [name, greeting, list] = await Promise.all([
      elicitor.form<{ name: string }>("What is your name?", NAME_FORM, { key: "user_name" }),
      sampler.ask("Generate a greeting", { maxTokens: 50, key: "greeting" }),
      roots.list({ key: "client_roots" }),
    ]);
    const who = name.action === "accept" ? name.content.name : "stranger";
    return `${greeting} ${who} (${list.length} root(s))`;
  }

  @Tool({ description: "Asks two questions, one round each" })
  async testInputRequiredResultMultiRound(@Inject(Elicitor) elicitor: Elicitor) {
    const name = await elicitor.form<{ name: string }>("Step 1: What is your name?", NAME_FORM, { key: "step1" });
    const color = await elicitor.form<{ color: string }>("Step 2: What is your favorite color?", COLOR_FORM, { key: "step2" });
    const who = name.action === "accept" ? name.content.name : "someone";
    const what = color.action === "accept" ? color.content.color : "no color";
    return `${who} likes ${what}`;
  }

  @Tool({ description: "Asks a tampered-state question (the state is sealed; a changed one is refused)" })
  async testInputRequiredResultTamperedState(@Inject(Elicitor) elicitor: Elicitor) {
    const answer = await elicitor.form<{ ok: boolean }>("Please confirm", CONFIRM_FORM, { key: "confirm" });
    return `Confirmed: ${answer.action === "accept" && answer.content.ok}`;
  }

  @Tool({ description: "Asks only for what the client declared it can do" })
  async testInputRequiredResultCapabilities(@Inject(Elicitor) elicitor: Elicitor, @Inject(Sampler) sampler: Sampler, @Inject(Roots) roots: Roots) {
    const asks: Promise<unknown>[] = [];
    if (sampler.supported) asks.push(sampler.ask("Say hello", { maxTokens: 20, key: "sampling_request" }));
    if (elicitor.supported) asks.push(elicitor.form("What is your name?", NAME_FORM, { key: "elicitation_request" }));
    if (roots.supported) asks.push(roots.list({ key: "roots_request" }));
    if (asks.length === 0) return "The client declared no capability to ask it anything";
    await Promise.all(asks);
    return `Asked ${asks.length} question(s), all answered`;
  }

  @Tool({ description: "Needs sampling: refused with -32021 when the client did not declare it" })
  async testMissingCapability(@Inject(Sampler) sampler: Sampler) {
    return `The model answered: ${await sampler.ask("Hello?", { maxTokens: 10 })}`;
  }

  @Tool({ description: "Streams an elicitation question (the answer comes back in the retried request)" })
  async testStreamingElicitation(@Inject(Elicitor) elicitor: Elicitor) {
    const answer = await elicitor.form("Streaming question: what is your name?", NAME_FORM, { key: "streaming" });
    return `Answer: ${answer.action}`;
  }

  @Tool({ description: "Logs three messages (sent only at the level the request asked for)" })
  async testLoggingTool(@Inject(ServerLogger) logger: ServerLogger) {
    await logger.info("Logging tool started");
    await logger.debug("Logging tool working");
    await logger.info("Logging tool done");
    return "Logged";
  }

  @Tool({ description: "Adds a tool (clients listening for tool-list changes are told)" })
  testTriggerToolChange(@Inject(DynamicSurface) surface: DynamicSurface) {
    return `Added tool ${surface.addTool()}`;
  }

  @Tool({ description: "Adds a prompt (clients listening for prompt-list changes are told)" })
  testTriggerPromptChange(@Inject(DynamicSurface) surface: DynamicSurface) {
    return `Added prompt ${surface.addPrompt()}`;
  }

  @Prompt({ description: "A prompt that asks the user for context first (multi-round-trip on prompts/get)" })
  async testInputRequiredResultPrompt(args: PromptContextArguments, @Inject(Elicitor) elicitor: Elicitor) {
    const answer = await elicitor.form<{ context: string }>("What context should the prompt use?", CONTEXT_FORM, { key: "user_context" });
    const context = answer.action === "accept" ? answer.content.context : "none";
    return `Answer with this context in mind: ${context}${args.topic ? ` (topic: ${args.topic})` : ""}`;
  }
}
