/**
 * The Payload Format Indicator of a 5.0 PUBLISH as the client sent it. mqtt-packet decodes
 * that property as a boolean (byte !== 0), so a 2 reads as `true` and would be forwarded as 1;
 * only the packet's bytes tell a 1 from a 2. §3.3.2.3.2 allows 0 and 1 only, and §1.2 calls a
 * packet that parses but carries data the protocol does not allow a Protocol Error (0x82), as
 * the spec says in so many words of its other 0-or-1 bytes (§3.1.2.11.6, §3.2.2.3.4).
 */

/**
 * How a property's value is laid out (§2.2.2.2), by identifier: 1, 2 or 4 for a value of that
 * many bytes; VAR_INT; SIZED (a UTF-8 string or binary data: two-byte length, then the bytes);
 * PAIR (a UTF-8 string pair); 0 for an identifier that is not a property.
 */
const VAR_INT = 0xfd;
const SIZED = 0xfe;
const PAIR = 0xff;
const LAYOUT = new Uint8Array(0x2b);
for (const id of [0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2a]) LAYOUT[id] = 1;
for (const id of [0x13, 0x21, 0x22, 0x23]) LAYOUT[id] = 2;
for (const id of [0x02, 0x11, 0x18, 0x27]) LAYOUT[id] = 4;
LAYOUT[0x0b] = VAR_INT;
for (const id of [0x03, 0x08, 0x09, 0x12, 0x15, 0x16, 0x1a, 0x1c, 0x1f]) LAYOUT[id] = SIZED;
LAYOUT[0x26] = PAIR;

const PAYLOAD_FORMAT_INDICATOR = 0x01;

/**
 * The largest Payload Format Indicator byte in the PUBLISH whose variable header starts at
 * `start` and whose packet ends at `end` in `buf` (the property may be repeated); -1 when it
 * has none. The packet has been decoded already, so its layout is known to be sound; the walk
 * still never reads past `end`. Reads bytes in place, allocates nothing.
 */
export function payloadFormatIndicatorByte(buf: Buffer, start: number, end: number, qos: number): number {
  let pos = start + 2 + ((buf[start]! << 8) | buf[start + 1]!);
  if (qos > 0) pos += 2;
  let length = 0;
  for (let shift = 0; pos < end; shift += 7) {
    const byte = buf[pos++]!;
    length += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) break;
  }
  const propertiesEnd = Math.min(end, pos + length);
  let found = -1;
  while (pos < propertiesEnd) {
    const id = buf[pos++]!;
    const layout = id < LAYOUT.length ? LAYOUT[id]! : 0;
    if (layout === 0) return found; // not a property: mqtt-packet refuses those, so not reached
    if (id === PAYLOAD_FORMAT_INDICATOR && pos < propertiesEnd && buf[pos]! > found) found = buf[pos]!;
    if (layout === VAR_INT) pos = afterVarInt(buf, pos, propertiesEnd);
    else if (layout === SIZED) pos += 2 + sizeAt(buf, pos, end);
    else if (layout === PAIR) {
      pos += 2 + sizeAt(buf, pos, end);
      pos += 2 + sizeAt(buf, pos, end);
    } else pos += layout;
  }
  return found;
}

function afterVarInt(buf: Buffer, pos: number, end: number): number {
  while (pos < end && (buf[pos]! & 0x80) !== 0) pos++;
  return pos + 1;
}

/** The two-byte length at `pos`; past `end` when it does not fit (ends the walk). */
function sizeAt(buf: Buffer, pos: number, end: number): number {
  return pos + 1 < end ? (buf[pos]! << 8) | buf[pos + 1]! : end;
}
