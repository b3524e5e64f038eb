/**
 * Hooks through which the broker reports what metrics count — messages handed out over TCP and
 * the time to answer a send. The broker knows no metric types; whoever exports metrics (the HTTP
 * role's registry) sets the hooks, and with none set a report costs one property check.
 */

export interface BrokerStatsHooks {
  /** Messages handed to a consumer: `bytes` is the size of the records sent. */
  delivered?: (topic: string, messages: number, bytes: number) => void;
  /** A send (single or batch) answered after `seconds`, flush policy included. */
  sendAnswered?: (seconds: number) => void;
}

export class BrokerStats {
  hooks: BrokerStatsHooks = {};

  delivered(topic: string, messages: number, bytes: number): void {
    this.hooks.delivered?.(topic, messages, bytes);
  }

  sendAnswered(startMs: number): void {
    const hook = this.hooks.sendAnswered;
    if (hook !== undefined) hook((performance.now() - startMs) / 1000);
  }
}
