import subscribe from '../../commands/subscribe.ts';
import subscriptions from '../../commands/subscriptions.ts';
import unsubscribe from '../../commands/unsubscribe.ts';
import type { Command } from '../chat/command.ts';

/** Pass to createRegistry(webhookCommands): /subscribe, /unsubscribe, /subscriptions. */
export const webhookCommands: Command[] = [subscribe, unsubscribe, subscriptions];
