/**
 * The signed-in user's password (`POST /account/passwordreset`, the SDK's passwordChange path):
 * the current one proves it is them; the user's other sessions end.
 */
import { useState } from "preact/hooks";
import { post } from "../../api/client.js";
import { ErrorText } from "../../components/error_text.js";
import { session } from "../../session.js";

export default function PasswordTab() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setDone(false);
    if (next !== repeat) return setError(new Error("The two new passwords differ"));
    setBusy(true);
    try {
      await post("/account/passwordreset", { current_password: current, password: next });
      setDone(true);
      setCurrent("");
      setNext("");
      setRepeat("");
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card narrow-form" onSubmit={submit} aria-labelledby="password-title">
      <h2 id="password-title">Change your password</h2>
      {session.value?.user && <p class="muted">Signed in as {session.value.user.email}.</p>}
      {/* A hidden username field lets password managers file the new password under the right account. */}
      <input type="email" autoComplete="username" value={session.value?.user?.email ?? ""} readOnly hidden />
      <label>
        Current password
        <input type="password" required autoComplete="current-password" value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
      </label>
      <label>
        New password (at least 8 characters)
        <input type="password" required minLength={8} autoComplete="new-password" value={next} onInput={(e) => setNext(e.currentTarget.value)} />
      </label>
      <label>
        Repeat the new password
        <input type="password" required minLength={8} autoComplete="new-password" value={repeat} onInput={(e) => setRepeat(e.currentTarget.value)} />
      </label>
      <ErrorText error={error} />
      <div class="form-actions">
        <button type="submit" class="btn primary" disabled={busy}>
          {busy ? "Changing…" : "Change password"}
        </button>
        <span class="ok" role="status">
          {done ? "Password changed. Your other sessions were signed out." : ""}
        </span>
      </div>
    </form>
  );
}
