// Runs INSIDE the parser isolate: parser_globals.ts sends this function's source text there.
// It must stay self-contained (no imports, no references to anything outside its body).

/**
 * Freezes everything a parser can reach from the global object: built-ins, their prototypes,
 * the intrinsics only reachable through syntax (generator and async function prototypes,
 * iterator prototypes), and the globals Sluice adds. The global object itself is left open,
 * because parsers create globals (`x = 1` in sloppy code); the runtime deletes those after
 * each run.
 *
 * This is what lets one context serve every message of a device: a parser that patches
 * `Array.prototype.map` or `JSON.parse` changes nothing (silently in sloppy code, TypeError in
 * strict code), so no run can shape the next.
 *
 * Frozen prototypes bring the "override mistake": `obj.toString = f` on an ordinary object
 * fails because the inherited `toString` is read-only. Common code does this (error classes
 * setting `this.name`, objects with their own `toString`), so for the prototypes where it
 * happens the data properties become accessors whose setter defines an own property on the
 * receiver, and refuses only when the receiver is the prototype itself.
 */
export function harden(global: object): void {
  const { freeze, getPrototypeOf, getOwnPropertyDescriptor, defineProperty } = Object;
  const ownKeys = Reflect.ownKeys;

  function tameOverrides(prototype: object): void {
    for (const key of ownKeys(prototype)) {
      const property = getOwnPropertyDescriptor(prototype, key)!;
      if (!("value" in property) || !property.writable || !property.configurable) continue;
      const value: unknown = property.value;
      defineProperty(prototype, key, {
        enumerable: property.enumerable,
        configurable: false,
        get() {
          return value;
        },
        set(this: unknown, replacement: unknown) {
          if (this === prototype) throw new TypeError(`Cannot assign to read only property '${String(key)}' of a built-in prototype`);
          // Assigning to a primitive's property does nothing in sloppy code; keep it that way.
          if ((typeof this !== "object" || this === null) && typeof this !== "function") return;
          defineProperty(this as object, key, { value: replacement, writable: true, enumerable: true, configurable: true });
        },
      });
    }
  }

  const errors = [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError];
  for (const prototype of [Object.prototype, Function.prototype, ...errors.map((error) => error.prototype)]) tameOverrides(prototype);

  // Intrinsics no global property leads to; their prototype chains lead to the rest.
  const hidden: unknown[] = [
    getPrototypeOf(function* () {}),
    getPrototypeOf(async function () {}),
    getPrototypeOf(async function* () {}),
    getPrototypeOf((function* () {})()),
    getPrototypeOf([][Symbol.iterator]()),
    getPrototypeOf(new Map()[Symbol.iterator]()),
    getPrototypeOf(new Set()[Symbol.iterator]()),
    getPrototypeOf(""[Symbol.iterator]()),
    getPrototypeOf(/x/[Symbol.matchAll]("")),
    (function () {
      // %ThrowTypeError%, the accessor of strict arguments.callee.
      "use strict";
      return getOwnPropertyDescriptor(arguments, "callee")?.get;
    })(),
  ];

  const seen = new Set<unknown>();
  const pending: unknown[] = [global, ...hidden];
  while (pending.length > 0) {
    const value = pending.pop();
    if ((typeof value !== "object" && typeof value !== "function") || value === null || seen.has(value)) continue;
    seen.add(value);
    if (value !== global) freeze(value);
    pending.push(getPrototypeOf(value));
    for (const key of ownKeys(value)) {
      const property = getOwnPropertyDescriptor(value, key);
      if (!property) continue;
      if ("value" in property) pending.push(property.value);
      else pending.push(property.get, property.set);
    }
  }
}
