import { SluiceError } from "../errors.js";

/** Which limit of a plan was hit, by its path in the plan (`publishesPerMinute`, `http.data`...). */
export type LimitName = string;

/**
 * A request refused by the account's plan. `retryAfterMs` is set for rates (the client may try
 * again then; HTTP answers 429 with Retry-After) and left out for ceilings that only a plan
 * change or fewer resources lift (HTTP 403).
 */
export class LimitExceeded extends SluiceError {
  constructor(
    readonly limit: LimitName,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(retryAfterMs === undefined ? "PLAN_LIMIT" : "RATE_LIMITED", message, retryAfterMs === undefined ? 403 : 429);
    this.name = "LimitExceeded";
  }

  /** Whole seconds for a Retry-After header, at least 1. */
  get retryAfterSeconds(): number | undefined {
    return this.retryAfterMs === undefined ? undefined : Math.max(1, Math.ceil(this.retryAfterMs / 1000));
  }
}
