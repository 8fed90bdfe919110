import type { ActionHandler } from "./registry.js";

/**
 * "Insert to Device Bucket": stores the triggering records in the triggering device's bucket.
 * TagoIO's API calls it `tagoio`; both names are accepted.
 */
export const insertBucketAction: ActionHandler = {
  type: "insert_bucket",
  aliases: ["tagoio"],
  stores: true,
  validate: () => ({ type: "insert_bucket" }),
  async run({ device, records }, { buckets }) {
    if (!device) return { summary: "nothing to store: no device" };
    if (records.length === 0) return { summary: "no records to store" };
    await buckets.insert(device.id, records);
    return { summary: `stored ${records.length} record${records.length === 1 ? "" : "s"}` };
  },
};
