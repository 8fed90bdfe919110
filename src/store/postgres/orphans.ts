import { messageFromStored, messageToStored } from "../../mqtt/session_persistence.js";
import type { Message } from "../../mqtt/types.js";
import { propsFromJson, propsToJson } from "../sqlite/broker.js";
import { all, type Pool } from "./pool.js";

/** A message kept for a dead node's persistent sessions, as read back for replay. */
export interface OrphanMessage {
  id: number;
  namespace: string;
  message: Message;
}

/** Rows read per replay query: a long failover's backlog is replayed in pages. */
const PAGE_ROWS = 1000;

/**
 * Messages published while a node holding persistent sessions was dead and not yet adopted
 * (docs/cluster.md, "The adoption gap"): written by the publishing node before its ack, read by
 * the nodes that take the dead node's sessions, swept after a few windows.
 */
export class PgOrphanMessages {
  constructor(private readonly pool: Pool) {}

  /** One row per dead node and message, in one statement (all or nothing). */
  async keep(deadNodes: readonly string[], messages: readonly { namespace: string; message: Message }[]): Promise<void> {
    const rows = deadNodes.flatMap((node) => messages.filter((m) => m.message.busId !== undefined).map((m) => ({ node, ...m })));
    if (rows.length === 0) return;
    await this.pool.query(
      `INSERT INTO cluster_orphans (dead_node, namespace, bus_id, topic, payload, qos, retain, properties, expires_at, publisher)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::smallint[], $7::boolean[], $8::text[], $9::bigint[], $10::bytea[])`,
      [
        rows.map((r) => r.node), rows.map((r) => r.namespace), rows.map((r) => r.message.busId), rows.map((r) => r.message.topic),
        rows.map((r) => r.message.payload), rows.map((r) => r.message.qos), rows.map((r) => r.message.retain),
        rows.map((r) => propsToJson(messageToStored(r.message).properties)), rows.map((r) => r.message.expiresAt ?? null),
        rows.map((r) => (r.message.publisher === undefined ? null : Buffer.from(r.message.publisher))),
      ],
    );
  }

  /** The messages kept for `deadNode` after row `afterId`, oldest first, a page at most. */
  async after(deadNode: string, afterId: number): Promise<OrphanMessage[]> {
    const rows = await all<{ id: string; namespace: string; bus_id: string; topic: string; payload: Buffer; qos: 0 | 1 | 2; retain: boolean; properties: string | null; expires_at: string | null; publisher: Buffer | null }>(this.pool,
      "SELECT id, namespace, bus_id, topic, payload, qos, retain, properties, expires_at, publisher FROM cluster_orphans WHERE dead_node = $1 AND id > $2 ORDER BY id LIMIT $3",
      [deadNode, afterId, PAGE_ROWS]);
    return rows.map((r) => ({
      id: Number(r.id),
      namespace: r.namespace,
      message: messageFromStored({
        topic: r.topic, payload: r.payload, qos: r.qos, retain: r.retain, properties: propsFromJson(r.properties),
        expiresAt: r.expires_at === null ? null : Number(r.expires_at), busId: r.bus_id,
      }, r.publisher?.toString() ?? undefined),
    }));
  }

  /** Whether `node` owns any stored persistent session (one indexed probe of `sessions`). */
  async ownsSessions(node: string): Promise<boolean> {
    return (await this.pool.query("SELECT 1 FROM sessions WHERE node = $1 LIMIT 1", [node])).rowCount === 1;
  }

  /** Forgets what was kept more than `olderThanMs` ago (every adopter has replayed it by then). */
  async sweep(olderThanMs: number): Promise<number> {
    const result = await this.pool.query("DELETE FROM cluster_orphans WHERE created_at < now() - make_interval(secs => $1::double precision / 1000)", [olderThanMs]);
    return result.rowCount ?? 0;
  }
}
