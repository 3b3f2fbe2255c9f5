import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  type APIApplicationCommandOption,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from './djs.ts';
import type { Command, OptionDef } from '../../chat/command.ts';
import type { CommandRegistry } from '../../chat/dispatch.ts';
import { clip } from '../../util/text.ts';

/** Discord's rule for command and option names. */
export const DISCORD_NAME = /^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

export function discordName(name: string): string {
  return name.toLowerCase().replace(/[^-_\p{L}\p{N}]/gu, '-').slice(0, 32);
}

function option(o: OptionDef): APIApplicationCommandOption {
  const base = { name: discordName(o.name), description: clip(o.description || o.name, 100), required: Boolean(o.required) };
  switch (o.type) {
    case 'integer':
      return { ...base, type: ApplicationCommandOptionType.Integer, min_value: o.min, max_value: o.max, autocomplete: Boolean(o.autocomplete) };
    case 'choice':
      // Discord allows 25 fixed choices; longer lists are typed freely and checked by the parser.
      return o.choices.length <= 25
        ? { ...base, type: ApplicationCommandOptionType.String, choices: o.choices.map((c) => ({ name: c, value: c })) }
        : { ...base, type: ApplicationCommandOptionType.String };
    case 'date':
      return {
        ...base,
        description: clip(/YYYY-MM-DD/.test(o.description) ? o.description : `${o.description} (YYYY-MM-DD)`, 100),
        type: ApplicationCommandOptionType.String,
        min_length: 10,
        max_length: 10,
      };
    case 'string':
      return { ...base, type: ApplicationCommandOptionType.String, max_length: 100 };
    case 'principal':
      // A member or a role, picked from Discord's list; interactions.ts passes it on as mention text.
      return { ...base, type: ApplicationCommandOptionType.Mentionable };
  }
}

/**
 * Who sees a command in Discord's menu before a server admin changes it (Server Settings >
 * Integrations): `admin` commands only members with the Administrator permission ("0").
 * storecast's own check still decides who may run them; this only keeps the menu tidy.
 */
function defaultPermissions(command: Command): { default_member_permissions?: string } {
  return command.access === 'admin' ? { default_member_permissions: '0' } : {};
}

export function discordCommand(command: Command): RESTPostAPIChatInputApplicationCommandsJSONBody {
  const name = discordName(command.name);
  if (!DISCORD_NAME.test(name)) throw new Error(`command name "${command.name}" cannot be a Discord command name`);
  // Discord requires the required options first; otherwise keep the definition's order.
  const options = [...command.options].sort((a, b) => Number(Boolean(b.required)) - Number(Boolean(a.required))).map(option);
  return {
    type: ApplicationCommandType.ChatInput,
    name,
    description: clip(command.description, 100),
    ...(options.length ? { options } : {}),
    ...defaultPermissions(command),
  };
}

/** The application commands, built from the same definitions that parse Slack's text. */
export function buildDiscordCommands(registry: CommandRegistry): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  return [...registry.values()].map(discordCommand);
}

/** Registry name of a Discord command name (they are equal for every current command). */
export function registryName(registry: CommandRegistry, discord: string): string {
  for (const name of registry.keys()) if (discordName(name) === discord) return name;
  return discord;
}
