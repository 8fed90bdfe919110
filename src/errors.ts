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

/**
 * A field of a request body that is not acceptable, named by its path from the body
 * (`body.widgets[2].data[0].origin`): the answer carries `path` beside the message, so an
 * editor can point at the field.
 */
export class InvalidField extends SluiceError {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super("INVALID_INPUT", `${path} ${problem}`, 400);
  }
}
