import type { Logger } from '../logger.ts';

export interface PollLoop {
  start(): void;
  /** Stops polling and waits for the tick in progress. */
  stop(): Promise<void>;
}

/**
 * Runs `tick` again and again: at once while it reports a full batch (`again`), else after
 * `pollMs`. A failing tick is logged and the loop goes on — one bad row must not stop every
 * delivery of the replica. The one loop of every background job: weekly summaries, alert
 * notices and scheduled retrains. `delayFirst`: the first tick waits `pollMs` too (a retrain
 * check right at start would compete with the start-up training).
 */
export function pollLoop<T>(tick: () => Promise<T>, options: { pollMs: number; again(result: T): boolean; log: Logger; name: string; delayFirst?: boolean }): PollLoop {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = true;
  const loop = () => {
    if (stopped) return;
    running = tick()
      .then((r) => options.again(r))
      .catch((err) => {
        options.log.error({ err }, `${options.name} tick failed`);
        return false;
      })
      .then((again) => {
        if (!stopped) timer = setTimeout(loop, again ? 0 : options.pollMs);
      });
  };
  return {
    start() {
      if (!stopped) return;
      stopped = false;
      if (options.delayFirst) timer = setTimeout(loop, options.pollMs);
      else loop();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
