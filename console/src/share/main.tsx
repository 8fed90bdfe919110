/**
 * The public share view (`/view#<key>`), a page of its own: served with its own
 * Content-Security-Policy (framing allowed for `dashboards.shareFrameAncestors`), signed out,
 * reading only `/share/<key>/...`. It shows the console's dashboard view with a read-only
 * WidgetContext; the key is taken from after the `#`, so it never appears in a request line
 * of this page (only in the API requests it makes, which the server masks in its logs).
 */
import { render } from "preact";
import { ShareApp } from "./share_app.js";
import "../styles/theme.css";
import "../components/theme_toggle.js";

const keyOf = (): string => {
  try {
    return decodeURIComponent(location.hash.replace(/^#/, ""));
  } catch {
    return ""; // a malformed escape: no key, and the page says the link is incomplete
  }
};
const show = () => render(<ShareApp key={keyOf()} shareKey={keyOf()} />, document.getElementById("app")!);
// Another link pasted into the same tab changes only the part after `#`: no reload.
window.addEventListener("hashchange", () => {
  delete document.documentElement.dataset.ready;
  show();
});
show();
