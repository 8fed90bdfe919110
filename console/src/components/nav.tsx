import { NAV } from "../routes.js";
import { path } from "../router.js";
import { Icon } from "./icon.js";

/** The side navigation; on a phone it folds behind the menu button (`open`). */
export function Nav({ open, onNavigate }: { open: boolean; onNavigate: () => void }) {
  const here = path.value;
  return (
    <nav class={open ? "side-nav open" : "side-nav"} aria-label="Main" id="side-nav">
      <ul>
        {NAV.map((item) => {
          const active = here === item.href || here.startsWith(`${item.href}/`) || (item.href === "/devices" && here === "/");
          return (
            <li key={item.href}>
              <a href={`#${item.href}`} class={active ? "active" : undefined} aria-current={active ? "page" : undefined} onClick={onNavigate}>
                <Icon name={item.icon} />
                <span>{item.label}</span>
              </a>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
