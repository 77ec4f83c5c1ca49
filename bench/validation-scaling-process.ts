import "reflect-metadata";
import { IsInt, IsOptional, IsString, Max, MaxLength, Min, validateSync } from "class-validator";

/**
 * A process of its own, forked by the core section with the number of input classes to load (so
 * that nothing else is loaded): it defines them, builds the validator of one of them, warms up, then
 * answers each `{ system, iterations }` message with the ns per call of one measured round.
 */

type InputValidator = (args: Record<string, unknown>) => object;
// The validator is internal to the package: load it from the built sources next to dist-examples.
const { createInputValidator } = (await import(new URL("../../dist/core/validation.js", import.meta.url).href)) as {
  createInputValidator: (cls: new () => object, what: string) => InputValidator;
};

class SearchInput {
  @IsString() @MaxLength(100) query!: string;
  @IsInt() @Min(1) @Max(100) limit = 10;
  @IsOptional() @IsString() cursor?: string;
}

/** The other input classes of a large application, each with its own rules. */
const classes = Number(process.argv[2] ?? "1");
for (let i = 1; i < classes; i++) {
  const cls = class {};
  Object.defineProperty(cls, "name", { value: `Input${i}` });
  IsString()(cls.prototype, "name");
  IsInt()(cls.prototype, "count");
  Min(0)(cls.prototype, "count");
}

const ARGS = { query: "lamp", limit: 20 };
const OPTIONS = { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true } as const;
const WARMUP = 500_000;

const compiled = createInputValidator(SearchInput, `tool "search"`);
const SYSTEMS: Record<string, () => unknown> = {
  "compiled check": () => compiled(ARGS),
  validateSync: () => {
    if (validateSync(Object.assign(new SearchInput(), ARGS), OPTIONS).length) throw new Error("the benchmark input must be valid");
  },
};

function nsPerCall(fn: () => unknown, iterations: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - t0) / iterations;
}

for (const fn of Object.values(SYSTEMS)) for (let i = 0; i < WARMUP; i++) fn();
process.on("message", (message: { system: string; iterations: number }) => {
  process.send!({ ns: nsPerCall(SYSTEMS[message.system]!, message.iterations) });
});
process.send!({ ready: true });
