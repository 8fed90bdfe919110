/** Trigger mqtt_connect: an MQTT client of a selected device connects. */
import { deviceEventForm } from "./device_event_form.js";

export const mqttConnectTrigger = deviceEventForm("mqtt_connect", "Device connects (MQTT)", "Runs when an MQTT client of a selected device connects ($EVENT$ is mqtt_connect).");
