/**
 * Every page of the console: its location and its module, loaded on first visit so the first
 * screen downloads only what it shows (the code editor and charts come with their pages).
 */
import type { ComponentType } from "preact";
import type { Params } from "./router.js";

export interface PageProps {
  params: Params;
}
export interface PageModule {
  default: ComponentType<PageProps>;
}
export interface RouteDef {
  pattern: string;
  load: () => Promise<PageModule>;
  /** Shown without a session (sign-in, first-run setup). */
  public?: boolean;
}

export const ROUTES: RouteDef[] = [
  { pattern: "/login", load: () => import("./pages/login.js"), public: true },
  { pattern: "/setup/:token", load: () => import("./pages/setup.js"), public: true },
  { pattern: "/", load: () => import("./pages/devices.js") },
  { pattern: "/devices", load: () => import("./pages/devices.js") },
  { pattern: "/devices/:id/:tab?", load: () => import("./pages/device.js") },
  { pattern: "/dashboards", load: () => import("./pages/dashboards.js") },
  { pattern: "/dashboards/:id", load: () => import("./pages/dashboard.js") },
  { pattern: "/actions", load: () => import("./pages/actions.js") },
  { pattern: "/actions/:id", load: () => import("./pages/action.js") },
  { pattern: "/analyses", load: () => import("./pages/analyses.js") },
  { pattern: "/analyses/:id", load: () => import("./pages/analysis.js") },
  { pattern: "/notifications", load: () => import("./pages/notifications.js") },
  { pattern: "/relays", load: () => import("./pages/relays.js") },
  { pattern: "/relays/:id", load: () => import("./pages/relay.js") },
  { pattern: "/account/:tab?", load: () => import("./pages/account.js") },
];

/** Entries of the side navigation, in order. */
export const NAV: { href: string; label: string; icon: string }[] = [
  { href: "/devices", label: "Devices", icon: "device" },
  { href: "/dashboards", label: "Dashboards", icon: "dashboard" },
  { href: "/actions", label: "Actions", icon: "action" },
  { href: "/analyses", label: "Analyses", icon: "analysis" },
  { href: "/notifications", label: "Notifications", icon: "bell" },
  { href: "/relays", label: "Relays", icon: "relay" },
  { href: "/account", label: "Account", icon: "account" },
];
