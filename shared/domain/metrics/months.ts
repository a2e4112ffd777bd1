/** Calendar months in UTC, written `YYYY-MM`, as the metrics contract names them. */

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** Whether `value` is a month the contract accepts (`YYYY-MM`, years 1970 to 9999). */
export function isMonth(value: string): boolean {
  const match = MONTH.exec(value);
  return match !== null && Number(match[1]) >= 1970;
}

/** Months since 1970-01: a number months can be counted and compared with. */
export function monthIndex(month: string): number {
  const match = MONTH.exec(month);
  if (!match) throw new RangeError(`not a month: ${month}`);
  return (Number(match[1]) - 1970) * 12 + Number(match[2]) - 1;
}

export function monthOfIndex(index: number): string {
  const year = 1970 + Math.floor(index / 12);
  const month = (index % 12) + 1;
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`;
}

/** The month an instant (epoch seconds) falls in. */
export function monthOfInstant(epochSeconds: number): string {
  const date = new Date(epochSeconds * 1000);
  return monthOfIndex((date.getUTCFullYear() - 1970) * 12 + date.getUTCMonth());
}

/** The first second of a month (by index), in epoch seconds. */
export function monthStartSeconds(index: number): number {
  return Date.UTC(1970 + Math.floor(index / 12), index % 12, 1) / 1000;
}
