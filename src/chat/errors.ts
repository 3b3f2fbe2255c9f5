/**
 * A problem the user can fix (bad arguments, unknown store). Its message is shown as is,
 * with usage and an example; anything else that is thrown is an internal error, logged
 * with a reference id and answered with a short message.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly details: { code?: string; usage?: string; example?: string; suggestion?: string } = {},
  ) {
    super(message);
    this.name = 'UserError';
  }
}
