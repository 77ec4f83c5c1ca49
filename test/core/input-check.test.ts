import "reflect-metadata";
import { plainToInstance, Transform, Type } from "class-transformer";
import {
  Allow,
  ArrayMaxSize,
  ArrayMinSize,
  Equals,
  IsArray,
  IsBoolean,
  IsDefined,
  IsEmail,
  IsEnum,
  IsIn,
  IsInt,
  IsISO8601,
  IsNotEmpty,
  IsNumber,
  IsObject,
  IsOptional,
  IsPositive,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  Validate,
  ValidateIf,
  ValidateNested,
  validateSync,
  ValidatorConstraint,
  type ValidatorConstraintInterface,
} from "class-validator";
import { InvalidParamsError } from "lantern-mcp";
import { compileInputCheck } from "../../src/core/input-check.js";
import { createInputValidator, flattenIssues } from "../../src/core/validation.js";

// The differential corpus: classes using many kinds of rules, and inputs built from each class's
// valid example by replacing, removing or adding one field at a time. Every input goes through the
// compiled path and through plain class-validator; the answers must be identical.

enum Colour {
  Red = "red",
  Blue = "blue",
}

class Address {
  @IsString() @Length(1, 20) city!: string;
  @Matches(/^[0-9]{5}$/) zip!: string;
}

class Flat {
  @IsString() @MaxLength(10) text!: string;
  @IsInt() @Min(1) @Max(100) limit = 10;
  @IsOptional() @IsBoolean() verbose?: boolean;
  @IsNumber() @IsPositive() price!: number;
}

class Formats {
  @IsEmail() email!: string;
  @IsUUID("4") id!: string;
  @IsISO8601() at!: string;
  @IsIn(["a", "b"]) letter!: string;
  @IsEnum(Colour) colour!: Colour;
  @Equals("yes") consent!: string;
  @IsNotEmpty() @MinLength(2) name!: string;
}

class Lists {
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(3) @IsString({ each: true }) tags!: string[];
  @IsOptional() @IsInt({ each: true }) scores?: number[];
  @IsDefined() anything!: unknown;
  @Allow() note?: unknown;
  @IsOptional() @IsObject() extra?: object;
}

class Nested {
  @IsString() name!: string;
  @ValidateNested() @Type(() => Address) home!: Address;
  @IsOptional() @ValidateNested() @Type(() => Address) work?: Address;
  @ValidateNested({ each: true }) @Type(() => Address) previous: Address[] = [];
}

class Untyped {
  // No @Type: a nested plain object is never an Address, and class-validator refuses it.
  @IsOptional() @ValidateNested() home?: Address;
}

class Base {
  @IsString() id!: string;
  @IsOptional() @IsInt() version?: number;
}

class Derived extends Base {
  @IsInt() @Min(0) count!: number;
  @IsString() override id!: string;
}

class Grouped {
  @IsString({ groups: ["admin"] }) secret!: string;
  @IsInt({ always: true }) level!: number;
}

class Transformed {
  @Transform(({ value }) => (typeof value === "string" ? value.trim() : value)) @IsString() @MinLength(1) name!: string;
}

@ValidatorConstraint({ name: "even" })
class IsEven implements ValidatorConstraintInterface {
  validate(value: unknown) {
    return typeof value === "number" && value % 2 === 0;
  }
}

class Custom {
  @Validate(IsEven) n!: number;
}

class HoldsCustom {
  @ValidateNested() @Type(() => Custom) inner!: Custom;
}

class Conditional {
  @IsBoolean() hasCode!: boolean;
  @ValidateIf((o: Conditional) => o.hasCode) @IsString() code?: string;
}

interface Case {
  cls: new () => object;
  valid: Record<string, unknown>;
  compiled: boolean;
}

const address = { city: "Paris", zip: "75001" };
const CASES: Case[] = [
  { cls: Flat, valid: { text: "hello", limit: 5, verbose: true, price: 9.5 }, compiled: true },
  {
    cls: Formats,
    valid: { email: "ada@example.com", id: "9b2f8f4e-3c7a-4b8e-9a1d-2f6c5e4d3b2a", at: "2026-01-01T00:00:00Z", letter: "a", colour: "red", consent: "yes", name: "Ada" },
    compiled: true,
  },
  { cls: Lists, valid: { tags: ["a", "b"], scores: [1, 2], anything: 0, note: { free: true }, extra: { k: 1 } }, compiled: true },
  { cls: Nested, valid: { name: "Ada", home: address, work: address, previous: [address, address] }, compiled: true },
  { cls: Untyped, valid: { home: undefined }, compiled: true },
  { cls: Derived, valid: { id: "x", version: 2, count: 3 }, compiled: true },
  { cls: Grouped, valid: { secret: "s", level: 1 }, compiled: true },
  { cls: Transformed, valid: { name: "  Ada " }, compiled: true },
  { cls: Custom, valid: { n: 2 }, compiled: false },
  { cls: Conditional, valid: { hasCode: true, code: "x" }, compiled: false },
  { cls: HoldsCustom, valid: { inner: { n: 2 } }, compiled: false },
];

/** Values tried in place of every field: each JSON type, edge cases, and nested shapes. */
const POOL: unknown[] = [
  null, "", "x", "hello world, longer than twenty characters", "75001", "red", "yes", "ada@example.com", "2026-01-01",
  0, -1, 1, 2, 1.5, 100, 101, 1e12, true, false,
  [], ["a"], ["a", "b", "c", "d"], [1, 2], [null], [address], [address, { city: "", zip: "1" }], [{ ...address, extra: 1 }],
  {}, address, { city: "Paris" }, { ...address, extra: 1 }, { constructor: "x" }, { prototype: {} }, [[address]],
];

const OPTIONS = { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true } as const;

/** The inputs of one case: the valid example, then one field replaced, removed or added at a time. */
function inputsOf(valid: Record<string, unknown>): Record<string, unknown>[] {
  const inputs: Record<string, unknown>[] = [valid, {}];
  for (const key of Object.keys(valid)) {
    const { [key]: _removed, ...without } = valid;
    inputs.push(without);
    for (const value of POOL) inputs.push({ ...valid, [key]: value });
  }
  for (const key of ["unknown", "constructor", "prototype", "toString", "hasOwnProperty", "__defineGetter__"]) {
    inputs.push({ ...valid, [key]: 1 });
  }
  // JSON.parse makes "__proto__" an own key, as arguments arriving over the wire have it.
  inputs.push(JSON.parse(`{"__proto__": {"polluted": true}, "text": "x"}`));
  inputs.push({ ...valid, home: JSON.parse(`{"__proto__": {"city": "x"}, "city": "Paris", "zip": "75001"}`) });
  return inputs;
}

const hasTransformRules = (cls: Function) => cls === Nested || cls === Untyped || cls === Transformed || cls === HoldsCustom;
const instantiate = (cls: new () => object, input: Record<string, unknown>): object =>
  hasTransformRules(cls) ? (plainToInstance(cls, input) as object) : Object.assign(new cls(), input);

const RESERVED = new Set(["__proto__", "constructor", "prototype", ...Object.getOwnPropertyNames(Object.prototype)]);
function hasReservedKey(value: unknown): boolean {
  if (value === null || typeof value !== "object") return false;
  if (Array.isArray(value)) return value.some(hasReservedKey);
  return Object.keys(value).some((key) => RESERVED.has(key) || hasReservedKey((value as Record<string, unknown>)[key]));
}

describe("compiled input checks agree with class-validator", () => {
  it("compiles the classes whose rules it can reproduce, and only those", () => {
    for (const { cls, compiled } of CASES) expect([cls.name, compileInputCheck(cls) !== undefined]).toEqual([cls.name, compiled]);
  });

  it.each(CASES.map((c) => [c.cls.name, c] as const))("%s: the same accept/reject as validateSync on every input", (_name, { cls, valid }) => {
    const check = compileInputCheck(cls);
    let accepted = 0;
    let rejected = 0;
    for (const input of inputsOf(valid)) {
      let instance: object;
      try {
        instance = instantiate(cls, input);
      } catch {
        // class-transformer itself fails on some reserved keys; the validator refuses those first.
        expect(hasReservedKey(input)).toBe(true);
        continue;
      }
      const reference = validateSync(instance, OPTIONS).length === 0;
      if (reference) accepted++;
      else rejected++;
      if (!check) continue;
      const compiled = check(instantiate(cls, input));
      if (Object.keys(input).some((key) => key in Object.prototype)) {
        // class-validator's whitelist lets some of Object.prototype's names through (hasOwnProperty):
        // the compiled check may be stricter there, never looser (the validator refuses them as reserved keys).
        if (compiled) expect([input, reference]).toEqual([input, true]);
        continue;
      }
      expect([input, compiled]).toEqual([input, reference]);
    }
    expect(accepted).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(10);
  });

  it.each(CASES.map((c) => [c.cls.name, c] as const))("%s: the validator returns the same instance or the same error report", (_name, { cls, valid }) => {
    const validate = createInputValidator(cls, `tool "t"`);
    for (const input of inputsOf(valid)) {
      let outcome: { instance?: object; issues?: unknown; code?: number };
      try {
        outcome = { instance: validate(input) };
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidParamsError);
        outcome = { issues: (error as InvalidParamsError).data, code: (error as InvalidParamsError).code };
      }
      if (hasReservedKey(input) || Object.getPrototypeOf(input) !== Object.prototype) {
        // Reserved keys are refused before class-validator sees them, naming the key.
        expect(outcome.code).toBe(-32602);
        expect(JSON.stringify(outcome.issues)).toContain("forbiddenKey");
        continue;
      }
      const instance = instantiate(cls, input);
      const errors = validateSync(instance, OPTIONS);
      if (errors.length === 0) {
        expect(outcome.instance).toBeInstanceOf(cls);
        expect(outcome.instance).toEqual(instance);
      } else {
        expect([input, outcome.issues]).toEqual([input, flattenIssues(errors)]);
      }
    }
  });

  it("accepts a valid instance without asking class-validator, and leaves doubtful ones to it", () => {
    const check = compileInputCheck(Nested)!;
    expect(check(plainToInstance(Nested, { name: "Ada", home: address }))).toBe(true);
    // A Set of addresses is something only validateSync decides about.
    const withSet = plainToInstance(Nested, { name: "Ada", home: address });
    withSet.previous = new Set([Object.assign(new Address(), address)]) as unknown as Address[];
    expect(check(withSet)).toBe(false);
    expect(validateSync(withSet, OPTIONS)).toEqual([]);
  });
});
