/**
 * The receivers' clock: wall time with sub-millisecond precision, so that two sends stamped within one millisecond
 * still have an order the verdict can read.
 */
export const preciseNow = (): number => performance.timeOrigin + performance.now();
