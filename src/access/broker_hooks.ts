import type { IdentityService, RevocationEvent } from "../identity/service.js";
import type { Broker } from "../mqtt/broker.js";
import { RC } from "../mqtt/reason_codes.js";
import type { BrokerHooks, ClientInfo } from "../mqtt/types.js";
import type { Permission } from "../store/types.js";
import { storeUnavailable } from "../store/unavailable.js";
import type { Acl } from "./acl.js";

/** The namespace every anonymous client shares when `allowAnonymous` is on. */
export const ANONYMOUS_NAMESPACE = "anonymous";

/** What Sluice puts in `ClientInfo.principal` for a device connection. */
export interface MqttPrincipal {
  accountId: string;
  deviceId: string;
  tokenId: string;
  permission: Permission;
}

function principalOf(client: ClientInfo): MqttPrincipal {
  return client.principal as unknown as MqttPrincipal;
}

/**
 * Device tokens as MQTT credentials: the password is the token (any username), its account
 * is the namespace, its permission says whether the client may publish (`write`/`full`) and
 * subscribe (`read`/`full`); configured ACL rules apply on top.
 */
export function createBrokerHooks(deps: { identity: IdentityService; acl: Acl; allowAnonymous: boolean }): Omit<BrokerHooks, "published"> {
  const { identity, acl, allowAnonymous } = deps;
  return {
    async authenticate(request) {
      if (request.password === undefined || request.password.length === 0) {
        if (!allowAnonymous) return { ok: false, reason: "bad_credentials" };
        const principal: MqttPrincipal = { accountId: ANONYMOUS_NAMESPACE, deviceId: "", tokenId: "", permission: "full" };
        return { ok: true, namespace: ANONYMOUS_NAMESPACE, principal: { ...principal } };
      }
      let device: Awaited<ReturnType<IdentityService["authenticateDevice"]>>;
      try {
        device = await identity.authenticateDevice(request.password.toString("utf8"));
      } catch (err) {
        if (storeUnavailable(err)) return { ok: false, reason: "unavailable" };
        throw err;
      }
      if (!device) return { ok: false, reason: "bad_credentials" };
      const principal: MqttPrincipal = {
        accountId: device.accountId, deviceId: device.deviceId, tokenId: device.tokenId, permission: device.permission,
      };
      return { ok: true, namespace: device.accountId, principal: { ...principal } };
    },
    // Persistent sessions count against the device (plans and `mqtt.maxSessionsPerDevice`).
    sessionOwner: (client) => principalOf(client).deviceId || undefined,
    authorizePublish(client, topic) {
      const p = principalOf(client);
      return p.permission !== "read" && acl.allows("publish", topic, p);
    },
    authorizeSubscribe(client, filter) {
      const p = principalOf(client);
      return p.permission !== "write" && acl.allows("subscribe", filter, p);
    },
    // A granted wildcard (`#`) must not carry messages on topics the rules deny this client.
    authorizeDelivery: acl.restricts("subscribe") ? (client, topic) => acl.allows("subscribe", topic, principalOf(client)) : undefined,
  };
}

/** Ends live MQTT connections whose token or device stopped being valid. */
export function disconnectOnRevocation(identity: IdentityService, broker: Broker): void {
  identity.on("revoked", (event: RevocationEvent) => {
    const tokens = new Set(event.tokenIds ?? []);
    broker.disconnectWhere(
      (client) => {
        const p = principalOf(client);
        return tokens.has(p.tokenId) || (event.deviceId !== undefined && p.deviceId === event.deviceId);
      },
      event.reason === "token expired" ? RC.NOT_AUTHORIZED : RC.ADMINISTRATIVE_ACTION,
      event.reason,
    );
  });
}
