import { ApiError } from "../api/client.js";

/** An error as the API worded it (or what went wrong on the way), announced to screen readers. */
export function ErrorText({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  const message = error instanceof ApiError ? error.message : error instanceof Error ? error.message : String(error);
  const status = error instanceof ApiError && error.status > 0 ? ` (HTTP ${error.status})` : "";
  return (
    <p class="error" role="alert">
      {message}
      {status}
    </p>
  );
}
