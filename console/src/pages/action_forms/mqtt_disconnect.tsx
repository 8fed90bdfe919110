/** Trigger mqtt_disconnect: an MQTT client of a selected device disconnects (not at a server shutdown). */
import { deviceEventForm } from "./device_event_form.js";

export const mqttDisconnectTrigger = deviceEventForm(
  "mqtt_disconnect",
  "Device disconnects (MQTT)",
  "Runs when an MQTT client of a selected device disconnects; $REASON$ says why.",
);
