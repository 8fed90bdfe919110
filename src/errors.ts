/** Base of every error Sluice raises on purpose: a stable `code`, and the HTTP status it maps to. */
export class SluiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 400,
  ) {
    super(message);
    this.name = "SluiceError";
  }
}

export const notFound = (what: string) => new SluiceError("NOT_FOUND", `${what} not found`, 404);
export const invalid = (message: string) => new SluiceError("INVALID_INPUT", message, 400);
export const unauthorized = (message = "Authorization denied") => new SluiceError("UNAUTHORIZED", message, 401);
