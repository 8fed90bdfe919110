/**
 * The account's users (`/account/user`): each signs in with their email and password. Add one
 * with a first password to hand over; remove one (their sessions end; the API keeps the last).
 */
import { useState } from "preact/hooks";
import type { UserJson } from "../../../../src/http/api_types.js";
import { del, get, post, seg } from "../../api/client.js";
import { InlineConfirm } from "../../components/inline_confirm.js";
import { ErrorText } from "../../components/error_text.js";
import { useApi } from "../../hooks/use_api.js";
import { session } from "../../session.js";
import { TableScroll } from "../../components/table_scroll.js";

export default function UsersTab() {
  const list = useApi((signal) => get<UserJson[]>("/account/user", undefined, signal), []);
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [added, setAdded] = useState<string | undefined>(undefined);
  const me = session.value?.user?.id;

  const add = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setAdded(undefined);
    try {
      const user = await post<UserJson>("/account/user", { name, email, password });
      setAdded(user.email);
      setName("");
      setEmail("");
      setPassword("");
      list.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const remove = async (u: UserJson) => {
    await del(`/account/user/${seg(u.id)}`);
    list.reload();
  };

  return (
    <div class="users-tab">
      <section class="card" aria-labelledby="users-title">
        <h2 id="users-title">Users</h2>
        <ErrorText error={list.error} />
        {list.data && (
          <TableScroll label="Users of the account">
            <table class="grid">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Email</th>
                  <th scope="col">Added</th>
                  <th scope="col">Last sign-in</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.data.map((u) => (
                  <tr key={u.id}>
                    <td class="wrap">
                      {u.name}
                      {u.id === me && <span class="pill you">you</span>}
                    </td>
                    <td class="wrap">{u.email}</td>
                    <td>{new Date(u.created_at).toLocaleDateString()}</td>
                    <td>{u.last_login ? new Date(u.last_login).toLocaleString() : "Never"}</td>
                    <td>
                      <InlineConfirm
                        small
                        label="Remove"
                        question={u.id === me ? "Remove yourself? You will be signed out." : "Remove this user?"}
                        ariaLabel={`Remove user ${u.email}`}
                        onConfirm={() => remove(u)}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </section>

      <form class="card" onSubmit={add} aria-labelledby="add-user-title">
        <h2 id="add-user-title">Add a user</h2>
        <div class="form-row">
          <label>
            Name
            <input required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} autoComplete="off" />
          </label>
          <label>
            Email
            <input required type="email" maxLength={254} value={email} onInput={(e) => setEmail(e.currentTarget.value)} autoComplete="off" />
          </label>
        </div>
        <label>
          First password (at least 8 characters; they can change it)
          <input required type="password" minLength={8} value={password} onInput={(e) => setPassword(e.currentTarget.value)} autoComplete="new-password" />
        </label>
        <ErrorText error={error} />
        <div class="form-actions">
          <button type="submit" class="btn primary" disabled={busy}>
            {busy ? "Adding…" : "Add user"}
          </button>
          <span class="ok small" role="status">
            {added ? `${added} can now sign in.` : ""}
          </span>
        </div>
      </form>
    </div>
  );
}
