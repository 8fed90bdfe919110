/**
 * A token as its creation answered it, whole: the one time it can be shown. The devices page
 * puts a new device's first token here before opening the device, whose General tab shows it
 * (with a copy button) and forgets it.
 */
import { signal } from "@preact/signals";
import type { TokenPermission } from "../../../../src/http/api_types.js";

export interface FreshToken {
  deviceId: string;
  name: string;
  token: string;
  permission: TokenPermission;
  expire_date: string;
}

export const freshToken = signal<FreshToken | undefined>(undefined);
