/** Tabs that are links (`#/devices/abc/data`), so each tab has an address and back works. */
export function Tabs({ base, tabs, current }: { base: string; tabs: { id: string; label: string }[]; current: string }) {
  return (
    <nav class="tabs" aria-label="Sections">
      {tabs.map((tab) => (
        <a key={tab.id} href={`#${base}/${tab.id}`} class={tab.id === current ? "tab active" : "tab"} aria-current={tab.id === current ? "page" : undefined}>
          {tab.label}
        </a>
      ))}
    </nav>
  );
}
