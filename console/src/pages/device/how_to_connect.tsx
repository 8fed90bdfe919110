/**
 * "How to connect": this server's host (as the browser reached it) and MQTT ports (`GET
 * /status`), and commands ready to paste. The token is the one just created, else `<token>`.
 */
import type { MqttListenersJson, StatusJson } from "../../../../src/http/api_types.js";
import { get } from "../../api/client.js";
import { CopyButton } from "../../components/copy_button.js";
import { ErrorText } from "../../components/error_text.js";
import { useApi } from "../../hooks/use_api.js";

const TOPIC = "sensors/temperature";
const PAYLOAD = '{"variable":"temperature","value":21.5}';

/** Single-quoted for a POSIX shell. */
const sh = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

export function snippets(host: string, ports: MqttListenersJson, token: string, secure: boolean) {
  const urlHost = host.includes(":") ? `[${host}]` : host;
  const wsUrl = secure ? `wss://${urlHost}:${ports.wss}${ports.ws_path}` : `ws://${urlHost}:${ports.ws}${ports.ws_path}`;
  return [
    { id: "pub", title: "Publish with mosquitto_pub", text: `mosquitto_pub -h ${host} -p ${ports.tcp} -u Token -P ${sh(token)} -t ${TOPIC} -m ${sh(PAYLOAD)}` },
    { id: "sub", title: "Subscribe with mosquitto_sub", text: `mosquitto_sub -h ${host} -p ${ports.tcp} -u Token -P ${sh(token)} -t 'commands/#' -v` },
    {
      id: "tls",
      title: "Publish over TLS (add --cafile cert.pem for a self-signed certificate)",
      text: `mosquitto_pub -h ${host} -p ${ports.tls} --capath /etc/ssl/certs -u Token -P ${sh(token)} -t ${TOPIC} -m ${sh(PAYLOAD)}`,
    },
    {
      id: "mqttjs",
      title: "MQTT.js (Node.js)",
      text: [
        `import mqtt from "mqtt";`,
        ``,
        `const client = mqtt.connect("mqtt://${urlHost}:${ports.tcp}", { username: "Token", password: ${JSON.stringify(token)} });`,
        `client.on("connect", () => {`,
        `  client.subscribe("commands/#");`,
        `  client.publish("${TOPIC}", JSON.stringify({ variable: "temperature", value: 21.5 }));`,
        `});`,
        `client.on("message", (topic, payload) => console.log(topic, payload.toString()));`,
      ].join("\n"),
    },
    {
      id: "mqttjs-ws",
      title: "MQTT.js in a browser (WebSocket)",
      text: `const client = mqtt.connect("${wsUrl}", { username: "Token", password: ${JSON.stringify(token)} });`,
    },
  ];
}

export function HowToConnect({ token }: { token: string | undefined }) {
  const status = useApi((signal) => get<StatusJson>("/status", undefined, signal), []);
  const host = location.hostname;
  const ports = status.data?.mqtt;
  const secure = location.protocol === "https:";
  return (
    <section class="card" aria-labelledby="connect-title">
      <h2 id="connect-title">How to connect</h2>
      <ErrorText error={status.error} />
      {status.data && !ports && <p class="muted">This server does not say its MQTT ports.</p>}
      {ports && (
        <>
          <dl class="ports">
            <dt>Host</dt>
            <dd class="mono">{host}</dd>
            <dt>MQTT</dt>
            <dd class="mono">{ports.tcp}</dd>
            <dt>MQTT over TLS</dt>
            <dd class="mono">{ports.tls}</dd>
            <dt>WebSocket</dt>
            <dd class="mono">
              {ports.ws} (path {ports.ws_path})
            </dd>
            <dt>Secure WebSocket</dt>
            <dd class="mono">{ports.wss}</dd>
            <dt>Username</dt>
            <dd class="mono">Token</dd>
            <dt>Password</dt>
            <dd>{token ? "the new token (in the commands below)" : "a token of this device: create one above, or put yours in place of <token>"}</dd>
          </dl>
          {snippets(host, ports, token ?? "<token>", secure).map((s) => (
            <div class="snippet" key={s.id}>
              <div class="snippet-head">
                <h3 class="small" id={`snippet-${s.id}`}>
                  {s.title}
                </h3>
                <CopyButton text={s.text} label={s.title} />
              </div>
              <pre data-testid={`snippet-${s.id}`}>
                <code>{s.text}</code>
              </pre>
            </div>
          ))}
        </>
      )}
    </section>
  );
}
