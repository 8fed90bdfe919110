import { invalid } from "../../errors.js";
import type { DeviceRow } from "../../store/types.js";
import type { BucketStore, NormalizedRecord } from "../../data/types.js";
import type { Action, ActionParams } from "../action_model.js";

/** What an action run knows about why it runs. */
export interface ActionContext {
  action: Action;
  /** The device whose message or data triggered the run (none for timers). */
  device: DeviceRow | undefined;
  /** The records that triggered it (parsed and validated). */
  records: NormalizedRecord[];
  /** The MQTT message, for mqtt_topic triggers. */
  message?: { topic: string; payload: Buffer };
  /** A device event that triggered it (mqtt_connect, mqtt_disconnect), with its reason. */
  event?: { kind: string; reason?: string };
}

/** What handlers may use; built once in the composition root. */
export interface ActionServices {
  buckets: BucketStore;
  /** Publishes into an account's namespace; with `deviceId`, only to that device's sessions. */
  publish(accountId: string, message: { topic: string; payload: Buffer; qos: 0 | 1 | 2; retain: boolean }, deviceId?: string): void;
}

export interface ActionOutcome {
  /** One line for the inspector. */
  summary: string;
}

export interface ActionHandler {
  /** The `action.type` it handles; `aliases` are other names clients use for it. */
  readonly type: string;
  readonly aliases?: readonly string[];
  /** True for handlers that store data: an MQTT QoS 1/2 ack waits for them. */
  readonly stores: boolean;
  /** Returns the params to keep (normalized) or throws a SluiceError naming the field. */
  validate(params: ActionParams): ActionParams;
  run(context: ActionContext, services: ActionServices): Promise<ActionOutcome>;
}

/** Action types by name. Adding one is one file in pipeline/actions/ and one `register` call. */
export class ActionRegistry {
  private readonly handlers = new Map<string, ActionHandler>();

  register(handler: ActionHandler): this {
    for (const name of [handler.type, ...(handler.aliases ?? [])]) this.handlers.set(name, handler);
    return this;
  }

  get(type: string): ActionHandler | undefined {
    return this.handlers.get(type);
  }

  validate(params: ActionParams): ActionParams {
    const handler = this.handlers.get(params.type);
    if (!handler) throw invalid(`action.type "${params.type}" is not supported; supported: ${[...this.handlers.keys()].join(", ")}`);
    return { ...handler.validate(params), type: handler.type };
  }
}
