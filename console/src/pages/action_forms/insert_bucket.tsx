/** Action insert_bucket (TagoIO's "Insert to Device Bucket"): stores the triggering records. */
import type { ActionForm } from "./types.js";

export const insertBucketAction: ActionForm = {
  type: "insert_bucket",
  label: "Store the data",
  help: "Stores the triggering records (after the device's payload parser) in the device's bucket. It has no settings.",
  initial: () => ({ type: "insert_bucket" }),
  Form: () => <p class="muted">Nothing to set: the records go to the bucket of the device that sent them.</p>,
};
