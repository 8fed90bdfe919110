import { signal } from "@preact/signals";
import { Icon } from "./icon.js";

type Theme = "light" | "dark";
const stored = localStorage.getItem("sluice-theme");
const initial: Theme = stored === "light" || stored === "dark" ? stored : matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
export const theme = signal<Theme>(initial);
document.documentElement.dataset.theme = initial;

export function ThemeToggle() {
  const next: Theme = theme.value === "dark" ? "light" : "dark";
  const toggle = () => {
    theme.value = next;
    document.documentElement.dataset.theme = next;
    localStorage.setItem("sluice-theme", next);
  };
  return (
    <button type="button" class="icon-btn" onClick={toggle} aria-label={`Switch to the ${next} theme`} title={`Switch to the ${next} theme`}>
      <Icon name={theme.value === "dark" ? "sun" : "moon"} />
    </button>
  );
}
