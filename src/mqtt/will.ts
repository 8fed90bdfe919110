import type { Broker } from "./broker.js";
import type { Will } from "./session.js";
import type { ClientInfo } from "./types.js";

/** Publishes a will message as if its client had sent it (§3.1.2.5), authorization included. */
export function publishWill(broker: Broker, client: ClientInfo, will: Will): void {
  if (will.message.topic.startsWith("$SYS") || (broker.hooks.authorizePublish && !broker.hooks.authorizePublish(client, will.message.topic))) {
    broker.stats.drop("not_authorized");
    broker.logger.info({ clientId: client.clientId, topic: will.message.topic }, "will not authorized, dropped");
    return;
  }
  const expiresAt = will.expiryInterval === undefined ? undefined : Date.now() + will.expiryInterval * 1000;
  // Nobody waits for a will: what failed (its queued copies, say) was logged where it failed.
  broker.publish({ ...will.message, expiresAt }, client, "will")?.catch(() => undefined);
}
