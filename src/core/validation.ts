import type { ValidationError } from "class-validator";
import type { InputClass } from "./definitions.js";
import { InvalidParamsError, type ValidationIssue } from "./errors.js";
import { compileInputCheck } from "./input-check.js";
import { classTransformerLibrary, classTransformerStorage, classValidatorJsonSchemaLibrary, classValidatorLibrary } from "./libraries.js";
import { readPropertyType } from "./metadata-store.js";

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
  // A path is written only for a value that is walked into (or refused): scalars cost nothing.
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item !== null && typeof item === "object") assertNoForbiddenKeys(item, `${path}[${i}]`, depth + 1);
    }
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
    if (FORBIDDEN_KEYS.has(key)) {
      const at = path ? `${path}.${key}` : key;
      throw new InvalidParamsError(`Argument "${at}" is not allowed: "${key}" is a reserved key`, [
        { property: at, constraints: { forbiddenKey: `${key} is a reserved key and is never accepted` } },
      ]);
    }
    const item: unknown = (value as Record<string, unknown>)[key];
    if (item !== null && typeof item === "object") assertNoForbiddenKeys(item, path ? `${path}.${key}` : key, depth + 1);
  }
}

/** class-validator's errors as Lantern reports them: `[{ property, constraints }]`, nested paths joined with dots. */
export function flattenIssues(errors: ValidationError[], parent = ""): ValidationIssue[] {
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
  return classValidatorLibrary().getMetadataStorage().getTargetValidationMetadatas(cls, "", true, false).length > 0;
}

/** True when class-transformer holds no rules (`@Type`, `@Transform`, `@Expose`, `@Exclude`) for `cls`'s properties. */
function hasNoTransformRules(cls: InputClass): boolean {
  const defaultMetadataStorage = classTransformerStorage();
  const { TransformationType } = classTransformerLibrary();
  if (defaultMetadataStorage.getStrategy(cls) !== "none") return false;
  const properties = new Set(classValidatorLibrary().getMetadataStorage().getTargetValidationMetadatas(cls, "", true, false).map((m) => m.propertyName));
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
  const { plainToInstance } = classTransformerLibrary();
  const instantiate: (args: Record<string, unknown>) => object = hasNoTransformRules(cls)
    ? (args) => Object.assign(new cls(), args)
    : (args) => plainToInstance(cls, args) as object;
  const check = compileInputCheck(cls);
  const { validateSync } = classValidatorLibrary();
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
  return flattenIssues(classValidatorLibrary().validateSync(classTransformerLibrary().plainToInstance(cls, value) as object, { forbidUnknownValues: true }));
}

type SchemaObject = Record<string, unknown>;

/**
 * JSON Schemas of input classes, generated from class-validator metadata (with
 * class-validator-jsonschema's converters), one class at a time: two classes that share a name
 * (`Query` in two files) each get their own schema, and where one tool's schema refers to two
 * different classes of the same name, the second one's `$defs` entry is `Name_2`.
 */
export class SchemaCatalog {
  private readonly own = new Map<Function, SchemaObject>();
  private byName: Record<string, SchemaObject> | undefined;
  private readonly options = { refPointerPrefix: DEFS_PREFIX, classTransformerMetadataStorage: classTransformerStorage() };

  /** The schema of `cls`, with the nested classes it refers to under `$defs`, and defaults filled in. */
  schemaOf(cls: InputClass): JsonSchema {
    const schema = structuredClone(this.classSchema(cls)) as JsonSchema;
    applyDefaults(schema, cls);
    const defs: Record<string, SchemaObject> = {};
    this.resolveRefs(schema, cls, defs, new Map());
    if (Object.keys(defs).length > 0) schema.$defs = defs;
    return schema;
  }

  /** The schema of `cls` alone (its `$ref`s still name classes), made once per class. */
  private classSchema(cls: Function): SchemaObject {
    let schema = this.own.get(cls);
    if (!schema) {
      const storage = classValidatorLibrary().getMetadataStorage();
      const { validationMetadataArrayToSchemas } = classValidatorJsonSchemaLibrary();
      // Every rule of the class and its bases, as validation uses them; each constraint under its own name.
      const metadatas = storage.getTargetValidationMetadatas(cls, "", false, false, undefined).map((metadata) => {
        const constraint = metadata.constraintCls ? storage.getTargetValidatorConstraints(metadata.constraintCls)[0] : undefined;
        return constraint ? { ...metadata, type: constraint.name } : { ...metadata };
      });
      const schemas = validationMetadataArrayToSchemas(metadatas as Parameters<typeof validationMetadataArrayToSchemas>[0], this.options) as Record<string, SchemaObject>;
      for (let c: Function | null = cls; c && c !== Function.prototype && !schema; c = Object.getPrototypeOf(c)) {
        if (Object.prototype.hasOwnProperty.call(schemas, c.name)) schema = schemas[c.name];
      }
      schema ??= { type: "object", properties: {} };
      this.own.set(cls, schema);
    }
    return schema;
  }

  /** Points every `$ref` of `node` (part of `owner`'s schema) at a `$defs` entry of its own class. */
  private resolveRefs(node: SchemaObject, owner: Function | undefined, defs: Record<string, SchemaObject>, names: Map<unknown, string>): void {
    const properties = node.properties as Record<string, SchemaObject> | undefined;
    for (const [key, value] of Object.entries(node)) {
      if (key === "properties" && properties && owner) {
        for (const [property, schema] of Object.entries(properties)) this.walk(schema, owner, property, defs, names);
      } else {
        this.walk(value, undefined, undefined, defs, names);
      }
    }
  }

  private walk(node: unknown, owner: Function | undefined, property: string | undefined, defs: Record<string, SchemaObject>, names: Map<unknown, string>): void {
    if (node === null || typeof node !== "object") return;
    if (Array.isArray(node)) {
      for (const item of node) this.walk(item, owner, property, defs, names);
      return;
    }
    const record = node as SchemaObject;
    const ref = record.$ref;
    if (typeof ref === "string" && ref.startsWith(DEFS_PREFIX)) {
      const name = ref.slice(DEFS_PREFIX.length);
      const nested = owner && property ? nestedClassOf(owner, property) : undefined;
      if (nested && nested.name === name) record.$ref = DEFS_PREFIX + this.define(nested, nested, defs, names);
      else if (this.schemasByName()[name]) record.$ref = DEFS_PREFIX + this.define(name, undefined, defs, names);
    }
    for (const [key, value] of Object.entries(record)) if (key !== "$ref") this.walk(value, owner, property, defs, names);
  }

  /** The `$defs` name of a class (or, for a `$ref` no property explains, of a schema name), defining it once. */
  private define(key: Function | string, cls: Function | undefined, defs: Record<string, SchemaObject>, names: Map<unknown, string>): string {
    const known = names.get(key);
    if (known) return known;
    const base = typeof key === "string" ? key : key.name;
    let name = base;
    for (let n = 2; name in defs; n++) name = `${base}_${n}`;
    names.set(key, name);
    const schema = structuredClone(cls ? this.classSchema(cls) : this.schemasByName()[base]!) as JsonSchema;
    defs[name] = schema;
    if (cls) applyDefaults(schema, cls as InputClass);
    this.resolveRefs(schema, cls, defs, names);
    return name;
  }

  /** Every class's schema by name, for `$ref`s written by hand (`@JSONSchema`); made only when one appears. */
  private schemasByName(): Record<string, SchemaObject> {
    return (this.byName ??= classValidatorJsonSchemaLibrary().validationMetadatasToSchemas(this.options) as Record<string, SchemaObject>);
  }
}

/** The class a property holds, as the schema converters see it: `@Type(() => X)`, else the emitted type. */
function nestedClassOf(owner: Function, property: string): Function | undefined {
  const type = classTransformerStorage().findTypeMetadata(owner, property);
  try {
    const nested = type ? type.typeFunction() : readPropertyType(owner.prototype as object, property);
    return typeof nested === "function" ? nested : undefined;
  } catch {
    return undefined;
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
