/** The signed-in user, as the whole console sees it. */
import { signal } from "@preact/signals";
import type { SessionJson } from "../../src/http/api_types.js";
import { ApiError, get, post, whenUnauthorized } from "./api/client.js";

/** undefined while the first check runs; null when signed out. */
export const session = signal<SessionJson | null | undefined>(undefined);

whenUnauthorized(() => {
  session.value = null;
});

export async function loadSession(): Promise<void> {
  try {
    session.value = await get<SessionJson>("/account/session");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) session.value = null;
    else throw err;
  }
}

export async function signIn(email: string, password: string): Promise<void> {
  await post("/account/login", { email, password });
  await loadSession();
}

export async function signOut(): Promise<void> {
  await post("/account/logout");
  session.value = null;
}
