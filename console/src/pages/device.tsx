/**
 * A device's page: its tabs, each its own module (pages/device/*), loaded when opened.
 */
import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { DeviceJson } from "../../../src/http/api_types.js";
import { get, seg } from "../api/client.js";
import { ErrorText } from "../components/error_text.js";
import { PageHeader } from "../components/page_header.js";
import { Tabs } from "../components/tabs.js";
import { useApi } from "../hooks/use_api.js";
import type { PageProps } from "../routes.js";

export interface DeviceTabProps {
  device: DeviceJson;
  /** Loads the device again after a tab changed it. */
  reload: () => void;
}

const TABS: { id: string; label: string; load: () => Promise<{ default: ComponentType<DeviceTabProps> }> }[] = [
  { id: "general", label: "General", load: () => import("./device/general.js") },
  { id: "inspector", label: "Live Inspector", load: () => import("./device/inspector.js") },
  { id: "parser", label: "Payload parser", load: () => import("./device/parser.js") },
  { id: "params", label: "Configuration params", load: () => import("./device/params.js") },
  { id: "data", label: "Data", load: () => import("./device/data.js") },
];

export default function DevicePage({ params }: PageProps) {
  const id = params.id!;
  const tabId = TABS.some((t) => t.id === params.tab) ? params.tab! : "general";
  const device = useApi((signal) => get<DeviceJson>(`/device/${seg(id)}`, undefined, signal), [id]);
  const [Tab, setTab] = useState<{ id: string; component: ComponentType<DeviceTabProps> } | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    let live = true;
    TABS.find((t) => t.id === tabId)!.load().then(
      (m) => live && setTab({ id: tabId, component: m.default }),
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [tabId]);

  return (
    <section>
      <PageHeader title={device.data?.name ?? "Device"}>
        <a href="#/devices" class="btn">All devices</a>
      </PageHeader>
      <Tabs base={`/devices/${id}`} tabs={TABS} current={tabId} />
      <ErrorText error={device.error ?? error} />
      {device.data && Tab && Tab.id === tabId ? <Tab.component device={device.data} reload={device.reload} /> : <p class="muted" aria-busy="true">Loading…</p>}
    </section>
  );
}
