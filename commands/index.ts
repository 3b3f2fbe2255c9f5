import type { Command } from '../src/chat/command.ts';
import type { CommandRegistry } from '../src/chat/dispatch.ts';
import access from './access.ts';
import alert from './alert.ts';
import alerts from './alerts.ts';
import audit from './audit.ts';
import campaign from './campaign.ts';
import campaignImpact from './campaign-impact.ts';
import campaigns from './campaigns.ts';
import compare from './compare.ts';
import consoleCommand from './console.ts';
import drivers from './drivers.ts';
import forecast from './forecast.ts';
import { createHelpCommand } from './help.ts';
import holidayImpact from './holiday-impact.ts';
import markdownImpact from './markdown-impact.ts';
import me from './me.ts';
import model from './model.ts';
import sales from './sales.ts';
import stock from './stock.ts';
import segments from './segments.ts';
import subscribe from './subscribe.ts';
import subscriptions from './subscriptions.ts';
import top from './top.ts';
import unsubscribe from './unsubscribe.ts';

/** Every slash command, by name. Adding a command is one file here and one line below. */
export function createRegistry(extra: readonly Command[] = []): CommandRegistry {
  const registry = new Map<string, Command>();
  const analytics = [markdownImpact, drivers, campaign, campaigns, campaignImpact, compare, segments];
  for (const command of [forecast, holidayImpact, sales, top, stock, alert, alerts, ...analytics, subscribe, unsubscribe, subscriptions, access, consoleCommand, audit, model, me, ...extra, createHelpCommand(() => registry)]) {
    registry.set(command.name, command);
  }
  return registry;
}
