/** Action notification: an in-app notification (the bell, GET /notification). */
import { Placeholders } from "./placeholders.js";
import { text, type ActionForm } from "./types.js";

export const notificationAction: ActionForm = {
  type: "notification",
  label: "Notify in the app",
  help: "Adds a notification to the account's list; the bell shows it at once.",
  initial: () => ({ type: "notification", subject: "", message: "" }),
  Form: ({ params, update }) => (
    <>
      <label>
        Title (empty: the action's name)
        <input type="text" value={text(params.subject)} onInput={(e) => update({ ...params, subject: e.currentTarget.value })} />
      </label>
      <label>
        Message
        <textarea rows={4} value={text(params.message)} onInput={(e) => update({ ...params, message: e.currentTarget.value })} />
      </label>
      <Placeholders />
    </>
  ),
};
