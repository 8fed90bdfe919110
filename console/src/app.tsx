import { useEffect, useState } from "preact/hooks";
import { ErrorText } from "./components/error_text.js";
import { Icon } from "./components/icon.js";
import { Nav } from "./components/nav.js";
import { NotificationBell } from "./components/notification_bell.js";
import { Outlet } from "./components/outlet.js";
import { ThemeToggle } from "./components/theme_toggle.js";
import { navigate, path } from "./router.js";
import { ROUTES } from "./routes.js";
import { loadSession, session, signOut } from "./session.js";

const PUBLIC = ROUTES.filter((r) => r.public);

export function App() {
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    loadSession().catch(setError);
  }, []);

  const here = path.value;
  const onPublicPage = PUBLIC.some((r) => here.startsWith(r.pattern.split("/:")[0]!));
  if (error) return <main class="center"><ErrorText error={error} /></main>;
  if (session.value === undefined) return <main class="center" aria-busy="true"><p class="muted">Loading…</p></main>;
  if (session.value === null || onPublicPage) {
    if (session.value === null && !onPublicPage) navigate("/login", { replace: true });
    return (
      <main class="center">
        <Outlet routes={PUBLIC} target={onPublicPage ? here : "/login"} />
      </main>
    );
  }
  return <Shell />;
}

function Shell() {
  const [menuOpen, setMenuOpen] = useState(false);
  const me = session.value!;
  return (
    <div class="shell">
      <a class="skip-link" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById("main")?.focus())}>
        Skip to content
      </a>
      <header class="top-bar">
        <button type="button" class="icon-btn menu-btn" aria-label="Menu" aria-expanded={menuOpen} aria-controls="side-nav" onClick={() => setMenuOpen(!menuOpen)}>
          <Icon name="menu" />
        </button>
        <a href="#/devices" class="brand">Sluice</a>
        <span class="account-name">{me.account.name}</span>
        <div class="top-actions">
          <NotificationBell />
          <ThemeToggle />
          <span class="muted user-email">{me.user.email}</span>
          <button type="button" class="btn small" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <Nav open={menuOpen} onNavigate={() => setMenuOpen(false)} />
      <main id="main" tabIndex={-1}>
        <Outlet routes={ROUTES} target={path.value} />
      </main>
    </div>
  );
}
