/** Whose data a caller may touch: one customer's, or (undefined) every customer's. */
export type Scope = string | undefined;

/** Whether a customer's data is within the scope. */
export const inScope = (scope: Scope, customerId: string | number): boolean =>
  scope === undefined || scope === String(customerId);
