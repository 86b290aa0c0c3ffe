// Costs are kept in USD; people may read them in their own currency at a rate they set.
export interface Currency {
  code: string;
  perUsd: number;
}

export const usd: Currency = { code: 'USD', perUsd: 1 };

/** `JPY:150` → { code: 'JPY', perUsd: 150 }. */
export function parseCurrency(text: string): Currency {
  const match = /^([A-Za-z]{3})(?::(\d+(?:\.\d+)?))?$/.exec(text.trim());
  if (!match) throw new Error(`currency "${text}" is not CODE or CODE:RATE (e.g. JPY:150)`);
  const code = (match[1]).toUpperCase();
  const perUsd = match[2] === undefined ? (code === 'USD' ? 1 : Number.NaN) : Number(match[2]);
  if (!Number.isFinite(perUsd) || perUsd <= 0) throw new Error(`currency ${code} needs a rate per USD, e.g. ${code}:150`);
  return { code, perUsd };
}

export function formatCost(amountUsd: number, currency: Currency = usd): string {
  const amount = amountUsd * currency.perUsd;
  const digits = amount !== 0 && Math.abs(amount) < 1 ? 4 : 2;
  return new Intl.NumberFormat('en-US', {
    style: 'currency',
    currency: currency.code,
    minimumFractionDigits: currency.code === 'JPY' ? 0 : digits,
    maximumFractionDigits: currency.code === 'JPY' ? (Math.abs(amount) < 10 ? 2 : 0) : digits,
  }).format(amount);
}
