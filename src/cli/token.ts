import { ApiClient } from "./api_client.js";
import { formatTable, parseCommand, positionals, stringFlag, targetOptions, usageError, wantsJson } from "./command.js";
import { resolveServerTarget } from "./local_server.js";

/** `sluice token create|list|revoke`: device tokens, through the HTTP API of a running server. */
export async function runToken(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "create":
      return create(rest);
    case "list":
      return list(rest);
    case "revoke":
      return revoke(rest);
    default:
      throw usageError(
        "usage: sluice token create DEVICE_ID [--permission full|write|read] [--expires ISO] [--name N] [--json]" +
          " | token list DEVICE_ID [--json] | token revoke TOKEN_OR_ID",
      );
  }
}

async function client(parsed: ReturnType<typeof parseCommand>): Promise<ApiClient> {
  return new ApiClient(await resolveServerTarget(targetOptions(parsed)));
}

interface CreatedToken {
  id: string;
  token: string;
  name: string;
  permission: string;
  expire_date: string;
}

async function create(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, "token create", ["permission", "expires", "name"]);
  const [device] = positionals(parsed, "token create", ["DEVICE_ID"]);
  const body = {
    device,
    name: stringFlag(parsed, "name") ?? "Token",
    permission: stringFlag(parsed, "permission") ?? "full",
    expire_time: stringFlag(parsed, "expires") ?? "never",
  };
  const created = await (await client(parsed)).post<CreatedToken>("/device/token", body);
  if (wantsJson(parsed)) {
    console.log(JSON.stringify(created));
  } else {
    console.log(`token       ${created.token}\nid          ${created.id}\npermission  ${created.permission}\nexpires     ${created.expire_date}`);
    console.error("The token is shown only this once: keep it now.");
  }
  return 0;
}

interface TokenListItem {
  id: string;
  token: string;
  name: string;
  permission: string;
  expire_time: string;
  created_at: string;
  last_authorization: string | null;
}

const PAGE = 1000;
const FIELDS = ["id", "token", "name", "permission", "expire_time", "created_at", "last_authorization"];

async function list(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, "token list", []);
  const [device] = positionals(parsed, "token list", ["DEVICE_ID"]);
  const api = await client(parsed);
  const tokens: TokenListItem[] = [];
  for (let page = 1; ; page++) {
    const batch = await api.get<TokenListItem[]>(`/device/token/${encodeURIComponent(device!)}`, {
      page, amount: PAGE, fields: FIELDS, orderBy: "created_at,asc",
    });
    tokens.push(...batch);
    if (batch.length < PAGE) break;
  }
  if (wantsJson(parsed)) {
    console.log(JSON.stringify(tokens));
  } else {
    const rows = tokens.map((t) => [t.id, t.token, t.name, t.permission, t.expire_time, t.created_at, t.last_authorization ?? "never"]);
    console.log(formatTable(["ID", "TOKEN", "NAME", "PERMISSION", "EXPIRES", "CREATED", "LAST USED"], rows));
  }
  return 0;
}

async function revoke(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, "token revoke", []);
  const [tokenOrId] = positionals(parsed, "token revoke", ["TOKEN_OR_ID"]);
  await (await client(parsed)).delete(`/device/token/${encodeURIComponent(tokenOrId!)}`);
  console.log("Token revoked");
  return 0;
}
