import { z } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { FIELD_DEFAULTS, FIELD_RANGES, type RangedField } from '../data/limits.ts';
import { errorResponse } from '../server/errors.ts';

/** The one error shape of /api/v1 (built by server/errors.ts). */
export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'invalid' }),
      message: z.string().openapi({ example: `store: must be a whole number from ${FIELD_RANGES.store.min} to ${FIELD_RANGES.store.max}` }),
      ref: z.string().optional().openapi({ description: 'Quote it to an admin: the log has the details under this reference.' }),
    }),
  })
  .openapi('Error');

const DESCRIPTIONS: Record<number, string> = {
  400: 'The request is malformed or invalid; the message says what to change.',
  401: 'No API token, or an unknown or revoked one.',
  403: "The token's scopes do not include the one this route needs, or the request came from another site.",
  404: 'Not found.',
  413: 'The body is larger than this route accepts.',
  415: 'The Content-Type is not one this route accepts.',
  500: 'Something went wrong on our side; the answer carries a reference.',
  503: 'Busy, not ready, or the database is unavailable; try again (see Retry-After).',
};

type ErrorStatus = 400 | 401 | 403 | 404 | 413 | 415 | 500 | 503;
type ErrorResponse = { description: string; content: { 'application/json': { schema: typeof ErrorSchema } } };

/** Error responses for a route, all in the one shape (typed per status, so handlers may return them). */
export function errors<S extends ErrorStatus>(...statuses: S[]): Record<S, ErrorResponse> {
  return Object.fromEntries(statuses.map((s) => [s, { description: DESCRIPTIONS[s]!, content: { 'application/json': { schema: ErrorSchema } } }])) as Record<S, ErrorResponse>;
}

/** A body limit that refuses in the one error shape. */
export function limitBody(maxSize: number, message: string) {
  return bodyLimit({ maxSize, onError: (c) => errorResponse(c, 413, message) });
}

const shown = (n: number) => n.toLocaleString('en-US');

/**
 * A whole-number field with its range from FIELD_RANGES (src/data/limits.ts), the one the
 * import validators, chat and the CLI check: the document publishes what is accepted.
 */
export function wholeField(field: RangedField, description?: string) {
  const { min, max } = FIELD_RANGES[field];
  return z
    .number()
    .int()
    .min(min)
    .max(max)
    .openapi({ description: `${description ? `${description}; ` : ''}${shown(min)}-${shown(max)}` });
}

/** A number field with its range from FIELD_RANGES. */
export function numberField(field: RangedField, description?: string) {
  const { min, max } = FIELD_RANGES[field];
  return z
    .number()
    .min(min)
    .max(max)
    .openapi({ description: `${description ? `${description}; ` : ''}${shown(min)} to ${shown(max)}` });
}

/** An optional row field, documented with what its absence means (FIELD_DEFAULTS). */
export const holidayField = () => z.boolean().optional().openapi({ description: FIELD_DEFAULTS.isHoliday.means });
