import "reflect-metadata";

/**
 * The only module that touches `Reflect` metadata. Decorators write through `record*`; the scanner
 * (`scanner.ts`) reads through `read*` when a server is built. Nothing reads metadata while serving.
 */

/** Appends `entry` to the list stored under `key` on `target` itself (not its prototype chain). */
export function recordListEntry<T>(key: symbol, target: object, entry: T): void {
  const list: T[] | undefined = Reflect.getOwnMetadata(key, target);
  if (list) list.push(entry);
  else Reflect.defineMetadata(key, [entry], target);
}

/** Stores `value` under `key` on `target`. */
export function recordValue(key: symbol, target: object, value: unknown): void {
  Reflect.defineMetadata(key, value, target);
}

/** The list stored under `key` on each class of `ctor`'s chain, base classes first. */
export function readListAlongChain<T>(key: symbol, ctor: Function): T[] {
  const chain: Function[] = [];
  for (let c: Function | null = ctor; c && c !== Function.prototype; c = Object.getPrototypeOf(c)) chain.unshift(c);
  return chain.flatMap((c) => (Reflect.getOwnMetadata(key, c) as T[] | undefined) ?? []);
}

/** The list stored under `key` on `target` itself. */
export function readOwnList<T>(key: symbol, target: object): T[] {
  return (Reflect.getOwnMetadata(key, target) as T[] | undefined) ?? [];
}

export function readValue<T>(key: symbol, target: object): T | undefined {
  return Reflect.getMetadata(key, target) as T | undefined;
}

/** TypeScript's emitted parameter types of a method (`design:paramtypes`), if it emitted them. */
export function readParamTypes(prototype: object, method: string): Function[] | undefined {
  return Reflect.getMetadata("design:paramtypes", prototype, method) as Function[] | undefined;
}

/** The parameter types of a class's constructor (`design:paramtypes`), if TypeScript emitted them. */
export function readConstructorParamTypes(target: Function): Function[] | undefined {
  return Reflect.getOwnMetadata("design:paramtypes", target) as Function[] | undefined;
}

/** TypeScript's emitted type of a property (`design:type`), if it emitted one. */
export function readPropertyType(prototype: object, property: string): Function | undefined {
  return Reflect.getMetadata("design:type", prototype, property) as Function | undefined;
}
