/** Action email: a mail through the server's SMTP settings. */
import { Placeholders } from "./placeholders.js";
import { text, type ActionForm } from "./types.js";

export const emailAction: ActionForm = {
  type: "email",
  label: "Send an email",
  help: "Mails through the server's SMTP settings (smtp: in the configuration); several addresses separated by commas.",
  initial: () => ({ type: "email", to: "", subject: "", message: "" }),
  Form: ({ params, update }) => (
    <>
      <label>
        To
        <input type="text" value={text(params.to)} autoComplete="off" onInput={(e) => update({ ...params, to: e.currentTarget.value })} />
      </label>
      <label>
        Subject
        <input type="text" value={text(params.subject)} onInput={(e) => update({ ...params, subject: e.currentTarget.value })} />
      </label>
      <label>
        Message
        <textarea rows={6} value={text(params.message)} onInput={(e) => update({ ...params, message: e.currentTarget.value })} />
      </label>
      <Placeholders />
    </>
  ),
};
