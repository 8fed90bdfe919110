/**
 * Emails as user names: one user per email across all accounts, compared without case. The
 * stored form is the normalized one (NFC, trimmed, lower case), so uniqueness is one index.
 */
export const MAX_EMAIL_LENGTH = 254;

export function normalizeEmail(email: string): string {
  return email.normalize("NFC").trim().toLowerCase();
}

/** Loose on purpose (`admin@localhost` is one): a local part, `@`, a domain, no spaces, at most 254 characters. */
export function isEmail(email: string): boolean {
  return email.length <= MAX_EMAIL_LENGTH && /^[^\s@]+@[^\s@]+$/.test(email);
}
