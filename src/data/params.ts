/**
 * Device configuration parameters (TagoIO's `configuration_params`): key/value pairs the
 * account sets and the device reads, with a `sent` flag the device raises once it has applied
 * one. Parsers see them as `device.params`.
 */
import { invalid } from "../errors.js";

export interface DeviceParam {
  id: string;
  key: string;
  value: string;
  sent: boolean;
}

/** A create (no id) or an update (id) of one param. */
export interface ParamInput {
  id?: string;
  key?: string;
  value?: string;
  sent?: boolean;
}

export interface ParamStore {
  /** In creation order; `sent` narrows to read (true) or unread (false) ones. */
  list(deviceId: string, sent?: boolean): Promise<DeviceParam[]>;
  /**
   * Creates or updates: by `id` when given, else by `key` (one param per key, so re-sending a
   * key changes it rather than adding a twin). A changed param is unread unless `sent` says so.
   */
  save(deviceId: string, inputs: ParamInput[]): Promise<DeviceParam[]>;
  /** False when the device has no such param. */
  markSent(deviceId: string, id: string, sent: boolean): Promise<boolean>;
  remove(deviceId: string, id: string): Promise<boolean>;
}

export const PARAM_LIMITS = { keyChars: 100, valueChars: 10_000, perRequest: 100 } as const;

/** One param or a list (the SDK's `paramSet` sends either) → inputs; throws INVALID_INPUT naming the index. */
export function validateParamInputs(body: unknown): ParamInput[] {
  const list = Array.isArray(body) ? body : [body];
  if (list.length > PARAM_LIMITS.perRequest) throw invalid(`at most ${PARAM_LIMITS.perRequest} params per request`);
  return list.map((item, index) => {
    const at = (message: string) => invalid(`param ${index}: ${message}`);
    if (typeof item !== "object" || item === null || Array.isArray(item)) throw at("must be an object { key, value, sent }");
    const { id, key, value, sent } = item as Record<string, unknown>;
    const input: ParamInput = {};
    if (id !== undefined) {
      if (typeof id !== "string" || id === "") throw at("id must be a non-empty string");
      input.id = id;
    }
    if (key !== undefined) {
      if (typeof key !== "string" || key === "" || key.length > PARAM_LIMITS.keyChars) throw at(`key must be a string of 1 to ${PARAM_LIMITS.keyChars} characters`);
      input.key = key;
    }
    if (value !== undefined) {
      // TagoIO stores params as text; numbers and booleans are taken as their text.
      if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") throw at("value must be a string");
      const text = String(value);
      if (text.length > PARAM_LIMITS.valueChars) throw at(`value must be at most ${PARAM_LIMITS.valueChars} characters`);
      input.value = text;
    }
    if (sent !== undefined) {
      if (typeof sent !== "boolean") throw at("sent must be a boolean");
      input.sent = sent;
    }
    if (input.id === undefined && (input.key === undefined || input.value === undefined)) throw at("key and value are required to create a param");
    return input;
  });
}
