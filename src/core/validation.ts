import { plainToInstance, TransformationType } from "class-transformer";
// class-transformer's metadata storage, so nested `@Type(() => X)` classes show up in schemas.
import { defaultMetadataStorage } from "class-transformer/cjs/storage.js";
import { getMetadataStorage, validateSync, type ValidationError } from "class-validator";
import { validationMetadatasToSchemas } from "class-validator-jsonschema";
import type { InputClass } from "./definitions.js";
import { InvalidParamsError, type ValidationIssue } from "./errors.js";
import { compileInputCheck } from "./input-check.js";

/** A JSON Schema object, as published in tools/list. */
export type JsonSchema = { type: "object"; properties?: Record<string, object>; required?: string[]; [key: string]: unknown };

/** Turns raw arguments into a validated instance, or throws {@link InvalidParamsError}. */
export type InputValidator = (args: Record<string, unknown>) => object;

/**
 * Keys refused at every level of the arguments: ones that reach prototypes, and the names of
 * `Object.prototype`'s members, which would shadow them on the instance (class-validator's whitelist
 * lets some of those through, e.g. `hasOwnProperty`).
 */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype", ...Object.getOwnPropertyNames(Object.prototype)]);
const DEFS_PREFIX = "#/$defs/";
const MAX_DEPTH = 64;

/** Keys that could pollute prototypes never reach user code: refuse them with the path they were at. */
function assertNoForbiddenKeys(value: unknown, path: string, depth: number): void {
  if (value === null || typeof value !== "object") return;
  if (depth > MAX_DEPTH) throw new InvalidParamsError(`Arguments nest deeper than ${MAX_DEPTH} levels at "${path}"`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) assertNoForbiddenKeys(value[i], `${path}[${i}]`, depth + 1);
    return;
  }
  // JSON only makes plain objects: another prototype means a "__proto__" key was assigned on the way in.
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    const at = path ? `${path}.__proto__` : "__proto__";
    throw new InvalidParamsError(`Argument "${at}" is not allowed: "__proto__" is a reserved key`, [
      { property: at, constraints: { forbiddenKey: "__proto__ is a reserved key and is never accepted" } },
    ]);
  }
  for (const key of Object.keys(value)) {
    const at = path ? `${path}.${key}` : key;
    if (FORBIDDEN_KEYS.has(key)) {
      throw new InvalidParamsError(`Argument "${at}" is not allowed: "${key}" is a reserved key`, [
        { property: at, constraints: { forbiddenKey: `${key} is a reserved key and is never accepted` } },
      ]);
    }
    assertNoForbiddenKeys((value as Record<string, unknown>)[key], at, depth + 1);
  }
}

function flattenIssues(errors: ValidationError[], parent = ""): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const error of errors) {
    const property = parent ? `${parent}.${error.property}` : error.property;
    if (error.constraints) issues.push({ property, constraints: { ...error.constraints } });
    if (error.children?.length) issues.push(...flattenIssues(error.children, property));
  }
  return issues;
}

const describeIssues = (issues: ValidationIssue[]): string =>
  issues.map((issue) => Object.values(issue.constraints).join(", ")).join("; ");

/** True when class-validator holds rules for `cls` (on the class itself or a base class). */
export function hasValidationRules(cls: Function): boolean {
  return getMetadataStorage().getTargetValidationMetadatas(cls, "", true, false).length > 0;
}

/** True when class-transformer holds no rules (`@Type`, `@Transform`, `@Expose`, `@Exclude`) for `cls`'s properties. */
function hasNoTransformRules(cls: InputClass): boolean {
  if (defaultMetadataStorage.getStrategy(cls) !== "none") return false;
  const properties = new Set(getMetadataStorage().getTargetValidationMetadatas(cls, "", true, false).map((m) => m.propertyName));
  for (const property of properties) {
    if (
      defaultMetadataStorage.findTypeMetadata(cls, property) ||
      defaultMetadataStorage.findTransformMetadatas(cls, property, TransformationType.PLAIN_TO_CLASS).length > 0 ||
      defaultMetadataStorage.findExposeMetadata(cls, property) ||
      defaultMetadataStorage.findExcludeMetadata(cls, property)
    ) {
      return false;
    }
  }
  return true;
}

const VALIDATE_OPTIONS = { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true } as const;

/**
 * Builds, once per input class, the function that validates each call's arguments:
 * class-transformer (no implicit conversion) then class-validator with whitelisting, so unknown
 * properties and wrong types are both -32602 errors that name the field. A class without any
 * class-transformer rule is filled by plain assignment, which is what plainToInstance does for it,
 * at a fraction of the cost.
 *
 * class-validator's rules for the class are read here, once (see {@link compileInputCheck}): a call
 * runs the same constraint functions directly, and `validateSync` runs only when something is
 * wrong, to write the error report. A class with a rule the compiled check cannot reproduce uses
 * `validateSync` on every call.
 */
export function createInputValidator(cls: InputClass, what: string): InputValidator {
  const instantiate: (args: Record<string, unknown>) => object = hasNoTransformRules(cls)
    ? (args) => Object.assign(new cls(), args)
    : (args) => plainToInstance(cls, args) as object;
  const check = compileInputCheck(cls);
  return (args) => {
    assertNoForbiddenKeys(args, "", 0);
    const instance = instantiate(args);
    if (check?.(instance)) return instance;
    const errors = validateSync(instance, VALIDATE_OPTIONS);
    if (errors.length > 0) {
      const issues = flattenIssues(errors);
      throw new InvalidParamsError(`Invalid arguments for ${what}: ${describeIssues(issues)}`, issues);
    }
    return instance;
  };
}

/** Validates a value against an output class; returns the issues (empty when valid). */
export function validateAgainst(cls: InputClass, value: unknown): ValidationIssue[] {
  if (value === null || typeof value !== "object") {
    return [{ property: "", constraints: { type: "the result must be an object" } }];
  }
  return flattenIssues(validateSync(plainToInstance(cls, value) as object, { forbidUnknownValues: true }));
}

/**
 * JSON Schemas of input classes, generated from class-validator metadata. Built once per server
 * build: class-validator-jsonschema reads all metadata at once.
 */
export class SchemaCatalog {
  private readonly all: Record<string, Record<string, unknown>>;

  constructor() {
    this.all = validationMetadatasToSchemas({
      refPointerPrefix: DEFS_PREFIX,
      classTransformerMetadataStorage: defaultMetadataStorage,
    }) as Record<string, Record<string, unknown>>;
  }

  /** The schema of `cls`, with the nested classes it refers to under `$defs`, and defaults filled in. */
  schemaOf(cls: InputClass): JsonSchema {
    const root = this.all[cls.name];
    if (!root) return { type: "object", properties: {} };
    const schema = structuredClone(root) as JsonSchema;
    applyDefaults(schema, cls);
    const defs: Record<string, unknown> = {};
    this.collectDefs(schema, defs);
    if (Object.keys(defs).length > 0) schema.$defs = defs;
    return schema;
  }

  private collectDefs(node: unknown, defs: Record<string, unknown>): void {
    if (node === null || typeof node !== "object") return;
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string" && value.startsWith(DEFS_PREFIX)) {
        const name = value.slice(DEFS_PREFIX.length);
        if (!(name in defs) && this.all[name]) {
          defs[name] = structuredClone(this.all[name]);
          this.collectDefs(defs[name], defs);
        }
      } else {
        this.collectDefs(value, defs);
      }
    }
  }
}

/** Fields with an initialiser (`limit = 10`) are optional, and the schema says their default. */
function applyDefaults(schema: JsonSchema, cls: InputClass): void {
  let sample: Record<string, unknown>;
  try {
    sample = new cls() as Record<string, unknown>;
  } catch {
    return;
  }
  for (const [property, value] of Object.entries(sample)) {
    if (value === undefined || !schema.properties?.[property]) continue;
    if (isJsonValue(value)) (schema.properties[property] as Record<string, unknown>).default = value;
    if (schema.required) schema.required = schema.required.filter((name) => name !== property);
  }
  if (schema.required?.length === 0) delete schema.required;
}

const isJsonValue = (value: unknown): boolean =>
  value === null || ["string", "number", "boolean"].includes(typeof value) || Array.isArray(value);
