/**
 * What the Data tab reads from the API's messages: the wait of a 429 and the record a refusal
 * names. The client (api/client.ts) keeps only the message, which says both in fixed words.
 */

/** Seconds to wait from the API's 429 wording, "Too many requests (Retry-After: 8): ...". */
export function retryAfterSeconds(message: string): number | undefined {
  const m = /Retry-After: (\d+)/.exec(message);
  return m ? Number(m[1]) : undefined;
}

/** The index the API names in "record 5: ..." (its position in the request's array). */
export function recordIndexOf(message: string): number | undefined {
  const m = /^record (\d+):/.exec(message);
  return m ? Number(m[1]) : undefined;
}
