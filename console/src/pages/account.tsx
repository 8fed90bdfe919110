/**
 * The account: plan and usage, account tokens, users, and the signed-in user's password. Each
 * tab is its own module, loaded when opened (the usage charts bring uPlot with them).
 */
import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ErrorText } from "../components/error_text.js";
import { PageHeader } from "../components/page_header.js";
import { Tabs } from "../components/tabs.js";
import type { PageProps } from "../routes.js";
import { session } from "../session.js";
import "../styles/panels.css";
import "../styles/account.css";

const TABS: { id: string; label: string; load: () => Promise<{ default: ComponentType }> }[] = [
  { id: "usage", label: "Plan and usage", load: () => import("./account/usage.js") },
  { id: "tokens", label: "Account tokens", load: () => import("./account/tokens.js") },
  { id: "users", label: "Users", load: () => import("./account/users.js") },
  { id: "password", label: "Change password", load: () => import("./account/password.js") },
];

export default function AccountPage({ params }: PageProps) {
  const tabId = TABS.some((t) => t.id === params.tab) ? params.tab! : "usage";
  const [Tab, setTab] = useState<{ id: string; component: ComponentType } | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    let live = true;
    setError(undefined);
    TABS.find((t) => t.id === tabId)!.load().then(
      (m) => live && setTab({ id: tabId, component: m.default }),
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [tabId]);

  return (
    <section class="account-page">
      <PageHeader title={`Account${session.value ? `: ${session.value.account.name}` : ""}`} />
      <Tabs base="/account" tabs={TABS} current={tabId} />
      <ErrorText error={error} />
      {Tab && Tab.id === tabId ? <Tab.component /> : !error && <p class="muted" aria-busy="true">Loading…</p>}
    </section>
  );
}
