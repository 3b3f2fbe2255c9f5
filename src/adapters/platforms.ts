import type { Config } from '../config.ts';
import type { Platforms } from '../delivery/result.ts';
import { discordPoster } from './discord/post.ts';
import { slackPoster } from './slack/post.ts';

/** The platforms' posting for deliveries, built by the wiring (services, the CLI) and handed down. */
export function deliveryPlatforms(config: Pick<Config, 'slack' | 'discord'>): Platforms {
  return (timeoutMs) => ({ slack: slackPoster(config, timeoutMs), discord: discordPoster(config, timeoutMs) });
}
