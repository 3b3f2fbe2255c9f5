/**
 * The creator check of work a test sets up directly (createSubscription, createRule): the
 * operator, as the CLI passes it. Every surface passes one; tests of the check itself pass their own.
 */
export const OPERATOR_DELIVERY = { mode: 'open', creator: { kind: 'operator' } } as const;
