// How values of a Postgres source reach records, and which columns can serve as the key.
import { type PoolClient, TypeOverrides } from 'pg';

// Date and time types arrive as Postgres' own text instead of JavaScript Dates: a Date
// keeps milliseconds only and reads `timestamp` in the daemon's time zone, so a key
// passed back as `$1` would skip or repeat rows. The text round-trips exactly.
const dateTimeOids = {
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  timetz: 1266,
};

export function sourceTypeParsers(): TypeOverrides {
  const overrides = new TypeOverrides();
  for (const oid of Object.values(dateTimeOids)) overrides.setTypeParser(oid, 'text', (text: string) => text);
  return overrides;
}

/** Fixes the text format of dates so that it parses back the same way (see above). */
export const sourceSessionOptions = '-c DateStyle=ISO';

const uuidOid = 2950;
// Numbers, strings and date/time types: their values order the same way as JSON text or
// numbers passed back as `$1`.
const orderableCategories = new Set(['N', 'S', 'D']);

/** Null when the type can be a key; otherwise its name, for the message. */
export async function unusableKeyType(client: PoolClient, typeOid: number): Promise<string | null> {
  if (typeOid === uuidOid) return null;
  const result = await client.query<{ name: string; category: string }>(
    'SELECT format_type(oid, NULL) AS name, typcategory AS category FROM pg_type WHERE oid = $1',
    [typeOid],
  );
  const type = result.rows[0];
  if (type === undefined) return `type ${typeOid}`;
  return orderableCategories.has(type.category) ? null : type.name;
}
