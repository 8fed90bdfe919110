import type { AclRule } from "../config/schema.js";
import { topicMatches } from "../mqtt/topics.js";

export interface AclSubject {
  accountId: string;
  deviceId: string;
}

/**
 * Configured allow/deny rules, first match wins, everything allowed when none matches.
 * `%a` and `%d` in a rule's filter stand for the client's account and device id.
 * A SUBSCRIBE filter is checked as a topic against the rule (its wildcards as plain
 * characters), so a rule on `secret/#` also covers `secret/+`.
 */
export class Acl {
  constructor(private readonly rules: readonly AclRule[]) {}

  /** Whether any rule can refuse `action`; without such rules checking is wasted time. */
  restricts(action: "publish" | "subscribe"): boolean {
    return this.rules.some((rule) => rule.effect === "deny" && (rule.action === "all" || rule.action === action));
  }

  allows(action: "publish" | "subscribe", topicOrFilter: string, subject: AclSubject): boolean {
    for (const rule of this.rules) {
      if (rule.action !== "all" && rule.action !== action) continue;
      const filter = rule.filter.replaceAll("%a", subject.accountId).replaceAll("%d", subject.deviceId);
      if (topicMatches(filter, topicOrFilter)) return rule.effect === "allow";
    }
    return true;
  }
}
