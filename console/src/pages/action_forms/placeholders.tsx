/** The placeholders an action's texts may hold (src/pipeline/actions/template.ts), as a hint under the fields. */
export function Placeholders() {
  return (
    <details class="placeholders">
      <summary>Placeholders</summary>
      <p class="small">
        <code>$VARIABLE$</code> <code>$VALUE$</code> <code>$UNIT$</code> <code>$GROUP$</code> <code>$TIME$</code> (the first triggering record),{" "}
        <code>$DEVICE_ID$</code> <code>$DEVICE_NAME$</code>, <code>$TOPIC$</code> <code>$PAYLOAD$</code> (the MQTT message), <code>$ACTION_ID$</code>{" "}
        <code>$ACTION_NAME$</code>, <code>$EVENT$</code> <code>$REASON$</code> (device connects and disconnects). What the trigger does not have is empty.
      </p>
    </details>
  );
}
