/**
 * Reading a stored `display` defensively (it came from the API or an imported file, so any
 * field may be missing or of another kind): each reader answers the fallback when the value is
 * not what the option needs.
 */
export function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function text(value: unknown, fallback: string, maxLength = 10_000): string {
  return typeof value === "string" ? value.slice(0, maxLength) : fallback;
}

export function finite(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

/** A finite number or undefined (an optional bound). */
export function optionalFinite(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

export function flag(value: unknown, fallback: boolean): boolean {
  return typeof value === "boolean" ? value : fallback;
}

export function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return allowed.includes(value as T) ? (value as T) : fallback;
}
