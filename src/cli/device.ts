import { ApiClient } from "./api_client.js";
import { formatTable, parseCommand, positionals, stringFlag, targetOptions, usageError, wantsJson } from "./command.js";
import { resolveServerTarget } from "./local_server.js";

/** `sluice device create|list|delete`, through the HTTP API of a running server. */
export async function runDevice(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "create":
      return create(rest);
    case "list":
      return list(rest);
    case "delete":
      return remove(rest);
    default:
      throw usageError("usage: sluice device create --name N [--json] | device list [--json] | device delete ID");
  }
}

async function client(parsed: ReturnType<typeof parseCommand>): Promise<ApiClient> {
  return new ApiClient(await resolveServerTarget(targetOptions(parsed)));
}

async function create(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, "device create", ["name"]);
  positionals(parsed, "device create --name N", []);
  const name = stringFlag(parsed, "name");
  if (name === undefined || name.trim() === "") throw usageError("device create needs --name N");
  const created = await (await client(parsed)).post<{ device_id: string; token: string }>("/device", { name });
  if (wantsJson(parsed)) {
    console.log(JSON.stringify({ id: created.device_id, token: created.token }));
  } else {
    console.log(`id     ${created.device_id}\ntoken  ${created.token}`);
    console.error("The token is shown only this once: keep it now.");
  }
  return 0;
}

interface DeviceListItem {
  id: string;
  name: string;
  active: boolean;
  created_at: string;
}

const PAGE = 1000;

async function list(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, "device list", []);
  positionals(parsed, "device list", []);
  const api = await client(parsed);
  const devices: DeviceListItem[] = [];
  for (let page = 1; ; page++) {
    const batch = await api.get<DeviceListItem[]>("/device", {
      page, amount: PAGE, fields: ["id", "name", "active", "created_at"], orderBy: "created_at,asc",
    });
    devices.push(...batch.map(({ id, name, active, created_at }) => ({ id, name, active, created_at })));
    if (batch.length < PAGE) break;
  }
  if (wantsJson(parsed)) {
    console.log(JSON.stringify(devices));
  } else {
    console.log(formatTable(["ID", "NAME", "ACTIVE", "CREATED"], devices.map((d) => [d.id, d.name, d.active ? "yes" : "no", d.created_at])));
  }
  return 0;
}

async function remove(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, "device delete", []);
  const [id] = positionals(parsed, "device delete", ["ID"]);
  await (await client(parsed)).delete(`/device/${encodeURIComponent(id!)}`);
  console.log(`Deleted device ${id}`);
  return 0;
}
