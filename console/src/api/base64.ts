/** Base64 of UTF-8 text and back, as the API carries scripts (`/analysis/:id/upload`, `download`). */

export function textToBase64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  // In slices: String.fromCharCode(...bytes) on a large script would overflow the call stack.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export function base64ToText(base64: string): string {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

/** The text of a `data:...;base64,` URL (what `GET /analysis/:id/download` answers). */
export function dataUrlText(url: string): string {
  const comma = url.indexOf(",");
  if (!url.startsWith("data:") || comma < 0 || !url.slice(0, comma).endsWith(";base64")) throw new Error("the script's URL is not a base64 data: URL");
  return base64ToText(url.slice(comma + 1));
}
