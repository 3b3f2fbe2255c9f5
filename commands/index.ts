import type { Command } from '../src/chat/command.ts';
import type { CommandRegistry } from '../src/chat/dispatch.ts';
import forecast from './forecast.ts';
import { createHelpCommand } from './help.ts';
import holidayImpact from './holiday-impact.ts';
import sales from './sales.ts';
import top from './top.ts';

/** Every slash command, by name. Adding a command is one file here and one line below. */
export function createRegistry(extra: readonly Command[] = []): CommandRegistry {
  const registry = new Map<string, Command>();
  for (const command of [forecast, holidayImpact, sales, top, ...extra, createHelpCommand(() => registry)]) {
    registry.set(command.name, command);
  }
  return registry;
}
