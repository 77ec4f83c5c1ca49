import type { getMetadataStorage, ValidationArguments } from "class-validator";
import { classTransformerStorage, classValidatorLibrary } from "./libraries.js";

/**
 * Answers "would class-validator find nothing wrong with this instance?" without asking it: true
 * only when `validateSync(instance, { whitelist: true, forbidNonWhitelisted: true,
 * forbidUnknownValues: true })` would return no errors. false means "not sure": the caller then runs
 * `validateSync` itself, which both decides and writes the error report.
 */
export type InputCheck = (instance: object) => boolean;

/**
 * The names of class-validator's own decorators (`isString`, `maxLength`, ...), read from the
 * constants it exports. Constraints with other names are the application's own: their validators
 * may be asynchronous or keep state, so classes that use them stay on `validateSync`.
 */
let builtInConstraints: ReadonlySet<string> | undefined;
const isBuiltInConstraint = (name: string): boolean =>
  (builtInConstraints ??= new Set(
    Object.entries(classValidatorLibrary())
      .filter(([key, value]) => /^[A-Z][A-Z0-9_]*$/.test(key) && typeof value === "string")
      .map(([, value]) => value as string),
  )).has(name);

const IS_OPTIONAL = "isOptional";

/** One constraint function, called exactly as class-validator calls it. */
interface ConstraintStep {
  validate: (value: unknown, args: ValidationArguments) => unknown;
  each: boolean;
  args: ValidationArguments;
}

interface PropertyPlan {
  name: string;
  /** `@IsOptional()`: null and undefined skip every other rule. */
  optional: boolean;
  steps: ConstraintStep[];
  nested: boolean;
}

interface ClassPlan {
  allowed: ReadonlySet<string>;
  properties: PropertyPlan[];
}

type Metadata = ReturnType<ReturnType<typeof getMetadataStorage>["getTargetValidationMetadatas"]>[number];

/**
 * Reads class-validator's rules for `cls` once and plans them; undefined when a rule is one this
 * plan cannot reproduce exactly (custom constraints, `@ValidateIf`, `validateIf`, promise
 * validation, asynchronous constraints).
 */
function planClass(cls: Function): ClassPlan | undefined {
  const { getMetadataStorage, ValidationTypes } = classValidatorLibrary();
  const storage = getMetadataStorage();
  // The same query validateSync makes for these options (no groups, `always` off, not strict).
  const metadatas = storage.getTargetValidationMetadatas(cls, "", false, false, undefined);
  const byProperty = new Map<string, Metadata[]>();
  for (const metadata of metadatas) {
    const list = byProperty.get(metadata.propertyName);
    if (list) list.push(metadata);
    else byProperty.set(metadata.propertyName, [metadata]);
  }
  const properties: PropertyPlan[] = [];
  for (const [name, list] of byProperty) {
    const plan: PropertyPlan = { name, optional: false, steps: [], nested: false };
    for (const metadata of list) {
      switch (metadata.type) {
        case ValidationTypes.WHITELIST:
          break;
        case ValidationTypes.NESTED_VALIDATION:
          plan.nested = true;
          break;
        case ValidationTypes.CONDITIONAL_VALIDATION:
          if (metadata.name !== IS_OPTIONAL) return undefined;
          plan.optional = true;
          break;
        case ValidationTypes.IS_DEFINED:
        case ValidationTypes.CUSTOM_VALIDATION: {
          const step = planConstraint(cls, metadata);
          if (!step) return undefined;
          plan.steps.push(step);
          break;
        }
        default:
          return undefined;
      }
    }
    properties.push(plan);
  }
  return { allowed: new Set(byProperty.keys()), properties };
}

function planConstraint(cls: Function, metadata: Metadata): ConstraintStep | undefined {
  if (metadata.validateIf || !metadata.name || !isBuiltInConstraint(metadata.name)) return undefined;
  const constraints = classValidatorLibrary().getMetadataStorage().getTargetValidatorConstraints(metadata.constraintCls);
  if (constraints.length !== 1) return undefined;
  const constraint = constraints[0]!;
  if (constraint.async || constraint.name !== metadata.name) return undefined;
  const instance = constraint.instance as { validate?: ConstraintStep["validate"] };
  if (typeof instance?.validate !== "function") return undefined;
  return {
    validate: instance.validate.bind(instance),
    each: metadata.each === true,
    args: { targetName: cls.name, property: metadata.propertyName, object: undefined as unknown as object, value: undefined, constraints: metadata.constraints },
  };
}

/**
 * Compiles the check of one input class: class-validator's metadata is read here, once, and each
 * call runs the same constraint functions class-validator would, with whitelisting
 * (`forbidNonWhitelisted`), `@IsOptional`, `@IsDefined`, `each`, and nested classes
 * (`@ValidateNested`, also in arrays). Returns undefined when the class uses a rule that cannot be
 * reproduced exactly; such a class keeps using `validateSync`.
 *
 * @example
 * const check = compileInputCheck(SearchEmployees);
 * if (!check || !check(instance)) errors = validateSync(instance, options);
 */
export function compileInputCheck(cls: Function): InputCheck | undefined {
  const root = planClass(cls);
  if (!root) return undefined;
  const plans = new Map<Function, ClassPlan | null>([[cls, root]]);
  // The nested classes class-transformer will make (`@Type(() => X)`) are planned now; when one of
  // them cannot be, the whole input stays on validateSync rather than paying for both.
  if (!planNested(cls, root, plans)) return undefined;
  // Any other value met in a nested property is checked against its own class, planned once when first met.
  const planOf = (ctor: Function): ClassPlan | null => {
    let plan = plans.get(ctor);
    if (plan === undefined) {
      plan = planClass(ctor) ?? null;
      plans.set(ctor, plan);
    }
    return plan;
  };

  const checkObject = (object: Record<string, unknown>, depth: number): boolean => {
    const ctor = object.constructor;
    if (typeof ctor !== "function") return false;
    const plan = ctor === cls ? root : planOf(ctor);
    // No plan: a rule we cannot reproduce, or no rules at all (forbidUnknownValues refuses those).
    if (!plan || plan.properties.length === 0) return false;
    for (const key in object) if (!plan.allowed.has(key)) return false;
    for (const property of plan.properties) {
      const value = object[property.name];
      if (property.optional && (value === null || value === undefined)) continue;
      for (const step of property.steps) if (!runStep(step, object, value)) return false;
      if (property.nested && !checkNested(value, depth + 1)) return false;
    }
    return true;
  };

  const checkNested = (value: unknown, depth: number): boolean => {
    if (value === undefined) return true;
    if (depth > MAX_NESTING) return false;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) if (!checkNested(value[i], depth + 1)) return false;
      return true;
    }
    if (value instanceof Set || value instanceof Map) return false;
    if (value instanceof Object) return checkObject(value as Record<string, unknown>, depth);
    return false;
  };

  return (instance) => checkObject(instance as Record<string, unknown>, 0);
}

function planNested(cls: Function, plan: ClassPlan, plans: Map<Function, ClassPlan | null>): boolean {
  for (const property of plan.properties) {
    if (!property.nested) continue;
    let nested: unknown;
    try {
      nested = classTransformerStorage().findTypeMetadata(cls, property.name)?.typeFunction();
    } catch {
      continue;
    }
    if (typeof nested !== "function" || plans.has(nested)) continue;
    const nestedPlan = planClass(nested);
    if (!nestedPlan) return false;
    plans.set(nested, nestedPlan);
    if (!planNested(nested, nestedPlan, plans)) return false;
  }
  return true;
}

/** Past this depth the check leaves the answer to class-validator. */
const MAX_NESTING = 64;

function runStep(step: ConstraintStep, object: object, value: unknown): boolean {
  const args = step.args;
  args.object = object;
  args.value = value;
  try {
    if (!step.each || !(Array.isArray(value) || value instanceof Set || value instanceof Map)) return isTrue(step.validate(value, args));
    if (!Array.isArray(value)) return false;
    for (let i = 0; i < value.length; i++) if (!isTrue(step.validate(value[i], args))) return false;
    return true;
  } catch {
    // validateSync meets the same exception and decides what it means.
    return false;
  } finally {
    // The arguments object is reused; it must not keep a call's input alive.
    args.object = undefined as unknown as object;
    args.value = undefined;
  }
}

/** A promise is not an answer here (validateSync would not wait for it either): leave it to class-validator. */
const isTrue = (result: unknown): boolean =>
  !!result && !(typeof result === "object" && typeof (result as { then?: unknown }).then === "function");
