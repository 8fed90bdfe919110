import { useState } from "preact/hooks";
import { ErrorText } from "../components/error_text.js";
import { navigate } from "../router.js";
import { signIn } from "../session.js";

export default function Login() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(email, password);
      navigate("/devices", { replace: true });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card narrow" onSubmit={submit} aria-labelledby="login-title">
      <h1 id="login-title">Sign in to Sluice</h1>
      <label>
        Email
        <input type="email" autoComplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
      </label>
      <label>
        Password
        <input type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      </label>
      <ErrorText error={error} />
      <button type="submit" class="btn primary" disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
      <p class="muted small">
        First start? Open the setup link Sluice printed (also in the file <code>setup-link</code> in its data directory).
      </p>
    </form>
  );
}
