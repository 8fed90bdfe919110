/**
 * A device name's sort key: text whose plain binary order (SQLite's default, so an index can
 * serve `ORDER BY`) follows how people read names, as the in-memory lists order them with
 * `Intl.Collator("en", { numeric: true })`:
 * - case and accents do not count first ("Sensor 1" sits between "gateway" and "sensor 2");
 * - a run of digits compares by its number ("sensor 2" before "sensor 10"): the run is written
 *   as its length (3 digits) then its digits, without leading zeros, so a longer number sorts
 *   later and numbers of one length compare digit by digit. The encoding starts with a digit,
 *   so a number still sorts where a digit would against any other character.
 * Ties (names that differ only in case or accents) fall to the device id. The key is cut at
 * KEY_CHARS: names have no length bound, and past that many characters the order hardly matters.
 */
const KEY_CHARS = 200;
const MAX_RUN = 999;

export function nameSortKey(name: string): string {
  const base = name.slice(0, KEY_CHARS * 2).normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
  const key = base.replace(/\d+/g, (run) => {
    const digits = run.replace(/^0+(?=\d)/, "").slice(0, MAX_RUN);
    return String(digits.length).padStart(3, "0") + digits;
  });
  return key.slice(0, KEY_CHARS);
}
