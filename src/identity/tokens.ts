import { createHash, randomBytes } from "node:crypto";

/**
 * A token is 128 random bits written like TagoIO's tokens (8-4-4-4-12 hex), so devices that
 * validate the format accept it. Only its SHA-256 is stored: with 128 bits of entropy a
 * slow password hash buys nothing, and authentication stays one index lookup.
 */
export function generateToken(): string {
  const hex = randomBytes(16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** Random 24-hex ids, the shape TagoIO uses for resource ids. */
export function generateId(): string {
  return randomBytes(12).toString("hex");
}
