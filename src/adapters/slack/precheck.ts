import type { CommandInput, CommandRegistry, UserErrorInfo } from '../../chat/dispatch.ts';
import { UserError } from '../../chat/errors.ts';
import { parseText, parseTyped, suggestCommand, usage } from '../../chat/parse.ts';

/**
 * The cheap half of dispatch: resolves the command and parses its options, no query. An
 * adapter runs it before acknowledging so a typo is answered in the ack itself, while the
 * query, the model and the render run after it. Mirrors dispatch()'s messages exactly.
 * (Platform-neutral; a candidate to move next to dispatch() in src/chat/.)
 */
export function precheck(registry: CommandRegistry, input: CommandInput): UserErrorInfo | undefined {
  const name = input.name.replace(/^\//, '').toLowerCase();
  const command = registry.get(name);
  if (!command) {
    const near = suggestCommand(name, [...registry.keys()]);
    const nearCommand = near ? registry.get(near) : undefined;
    return {
      message: `There is no /${name} command.`,
      suggestion: near ? `/${near}` : undefined,
      usage: nearCommand ? usage(nearCommand) : [...registry.keys()].map((n) => `/${n}`).join(', '),
      example: nearCommand ? nearCommand.examples[0] : '/help',
    };
  }
  try {
    if (input.options) parseTyped(command, input.options);
    else parseText(command, input.text ?? '');
    return undefined;
  } catch (err) {
    if (err instanceof UserError) {
      const { code: _code, ...details } = err.details;
      return { message: err.message, usage: usage(command), example: command.examples[0], ...details };
    }
    return undefined; // not ours to judge: dispatch() reports it as an internal error with a reference
  }
}
