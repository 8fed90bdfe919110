import { useState } from "preact/hooks";
import { post } from "../api/client.js";
import { ErrorText } from "../components/error_text.js";
import type { PageProps } from "../routes.js";
import { navigate } from "../router.js";
import { loadSession } from "../session.js";

/** First run: the one-time link Sluice printed sets the admin user's password. */
export default function Setup({ params }: PageProps) {
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [error, setError] = useState<unknown>(undefined);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (password !== repeat) {
      setError(new Error("The two passwords differ"));
      return;
    }
    try {
      await post("/account/setup", { token: params.token, password });
      await loadSession();
      navigate("/devices", { replace: true });
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="card narrow" onSubmit={submit} aria-labelledby="setup-title">
      <h1 id="setup-title">Set the admin password</h1>
      <label>
        New password (at least 8 characters)
        <input type="password" autoComplete="new-password" minLength={8} required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      </label>
      <label>
        Repeat it
        <input type="password" autoComplete="new-password" minLength={8} required value={repeat} onInput={(e) => setRepeat(e.currentTarget.value)} />
      </label>
      <ErrorText error={error} />
      <button type="submit" class="btn primary">Set password and sign in</button>
    </form>
  );
}
