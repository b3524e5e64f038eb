/**
 * Keeps a broker registered with every NameServer it knows (DESIGN.md §7): it registers at
 * start, whenever the topic table changes, and on every heartbeat (`heartbeatIntervalMs`,
 * 30 s), each time with the broker's identity, addresses, version, the table's dataVersion,
 * its store size and disk use, and all topic configs; it unregisters on graceful shutdown.
 *
 * Each NameServer is worked independently through its `NamesrvLink`: one that is down fails its
 * own attempt (bounded by the link's timeout) and is retried on the next beat, while the others
 * and the broker carry on. Changes arriving while an attempt is in flight are coalesced into one
 * more attempt with the newest table, so a burst of topic creations costs two registrations,
 * not one per topic. An in-process link applies the registration synchronously: the first topic
 * change of a burst reaches a co-located NameServer inside the change itself.
 */

import type { Clock, TimerHandle } from "../common/clock.ts";
import type { Logger } from "../common/logger.ts";
import type { BrokerIdentity, BrokerRegistration } from "../protocol/broker-registration.ts";
import type { NamesrvLink } from "./namesrv-link.ts";
import type { TopicConfigManager } from "./topic-config-manager.ts";

export interface RegistrarIdentity extends BrokerIdentity {
  readonly haAddr?: string;
  readonly version: string;
}

/** The store's size and disk use, reported with each registration so a cluster view shows every broker's. */
export interface RegistrarDiskUse {
  readonly storeBytes: number;
  readonly diskUsedRatio: number;
}

export interface NamesrvRegistrarOptions {
  readonly identity: RegistrarIdentity;
  /** Sampled at each registration; without it the registration carries no disk figures. */
  readonly diskUse?: () => RegistrarDiskUse;
  readonly links: readonly NamesrvLink[];
  readonly topics: TopicConfigManager;
  readonly heartbeatIntervalMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long shutdown waits for each NameServer to take the unregistration. */
  readonly unregisterTimeoutMs?: number;
}

export interface NamesrvLinkStatus {
  readonly name: string;
  /** The last attempt succeeded. */
  readonly registered: boolean;
  /** Successful registrations so far (start, topic changes, heartbeats). */
  readonly registrations: number;
  readonly lastError?: string;
}

interface LinkState {
  readonly link: NamesrvLink;
  inFlight: Promise<void> | undefined;
  /** A change arrived during the attempt in flight: register again once it ends. */
  again: boolean;
  registered: boolean;
  registrations: number;
  lastError: string | undefined;
  /** Failures since the last success; only the first is logged as a warning. */
  failures: number;
  /** Monotonic ms of the last successful registration; undefined before the first. */
  lastRegisteredMs: number | undefined;
}

const unregisterTimeoutMsDefault = 3_000;

export class NamesrvRegistrar {
  private readonly states: LinkState[];
  private heartbeat: TimerHandle | undefined;
  private offTopicChange: (() => void) | undefined;
  private stopped = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: NamesrvRegistrarOptions) {
    this.states = options.links.map((link) => ({ link, inFlight: undefined, again: false, registered: false, registrations: 0, lastError: undefined, failures: 0, lastRegisteredMs: undefined }));
  }

  /** Registers now and from then on at every beat and topic change. Never waits for a NameServer. */
  start(): void {
    if (this.heartbeat !== undefined || this.stopped) return;
    this.offTopicChange = this.options.topics.onChange(() => void this.registerNow());
    this.heartbeat = this.options.clock.setInterval(() => void this.registerNow(), this.options.heartbeatIntervalMs);
    void this.registerNow();
  }

  /** Registers with every NameServer; resolves once each attempt (and any coalesced rerun) ended. */
  registerNow(): Promise<void> {
    return Promise.all(this.states.map((state) => this.kick(state))).then(() => undefined);
  }

  get registeredCount(): number {
    return this.states.filter((state) => state.registered).length;
  }

  /**
   * Milliseconds since a NameServer last took this broker's registration (its heartbeat, seen
   * from this side); undefined while none has.
   */
  lastRegistrationAgeMs(): number | undefined {
    let newest: number | undefined;
    for (const state of this.states) {
      if (state.lastRegisteredMs !== undefined && (newest === undefined || state.lastRegisteredMs > newest)) newest = state.lastRegisteredMs;
    }
    return newest === undefined ? undefined : Math.max(0, Math.round(this.options.clock.monotonicMs() - newest));
  }

  status(): NamesrvLinkStatus[] {
    return this.states.map((state) => ({
      name: state.link.name,
      registered: state.registered,
      registrations: state.registrations,
      ...(state.lastError === undefined ? {} : { lastError: state.lastError }),
    }));
  }

  /** Stops the beat, lets attempts in flight end, then unregisters from every NameServer holding this broker (bounded). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      this.heartbeat?.cancel();
      this.offTopicChange?.();
      await Promise.all(this.states.map((state) => state.inFlight));
      const identity = this.identity();
      // A NameServer whose last attempt failed does not hold this broker (or is unreachable):
      // asking it would only add a timeout to the shutdown.
      await Promise.all(this.states.map((state) => (state.registered ? this.unregister(state, identity) : state.link.close())));
    })();
    return this.stopping;
  }

  private kick(state: LinkState): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (state.inFlight !== undefined) {
      state.again = true;
      return state.inFlight;
    }
    const attempt = this.run(state).finally(() => {
      state.inFlight = undefined;
    });
    state.inFlight = attempt;
    return attempt;
  }

  private async run(state: LinkState): Promise<void> {
    do {
      state.again = false;
      try {
        await state.link.register(this.registration());
        this.succeeded(state);
      } catch (error) {
        this.failed(state, error);
      }
    } while (state.again && !this.stopped);
  }

  private succeeded(state: LinkState): void {
    if (!state.registered) this.options.logger.info(`Registered with NameServer ${state.link.name} as "${this.options.identity.brokerName}" (id ${this.options.identity.brokerId}) at ${this.options.identity.brokerAddr}`);
    state.registered = true;
    state.registrations += 1;
    state.lastRegisteredMs = this.options.clock.monotonicMs();
    state.failures = 0;
    state.lastError = undefined;
  }

  private failed(state: LinkState, error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    state.registered = false;
    state.lastError = reason;
    state.failures += 1;
    // One warning per outage, not one per beat; the rest go to debug.
    const message = `Cannot register with NameServer ${state.link.name}: ${reason}; retrying every ${this.options.heartbeatIntervalMs} ms`;
    if (state.failures === 1) this.options.logger.warn(message);
    else this.options.logger.debug(message);
  }

  private async unregister(state: LinkState, identity: BrokerIdentity): Promise<void> {
    const timeoutMs = this.options.unregisterTimeoutMs ?? unregisterTimeoutMsDefault;
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<string>((resolve) => {
      timer = this.options.clock.setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
    });
    try {
      const outcome = await Promise.race([Promise.resolve(state.link.unregister(identity)).then(() => undefined), timedOut]);
      if (outcome !== undefined) this.options.logger.warn(`Cannot unregister from NameServer ${state.link.name}: ${outcome}; it drops this broker when the registration expires`);
      else this.options.logger.info(`Unregistered from NameServer ${state.link.name}`);
    } catch (error) {
      this.options.logger.warn(`Cannot unregister from NameServer ${state.link.name}: ${(error as Error).message}; it drops this broker when the registration expires`);
    } finally {
      timer?.cancel();
      state.registered = false;
      state.link.close();
    }
  }

  private identity(): BrokerIdentity {
    const { clusterName, brokerName, brokerId, brokerAddr } = this.options.identity;
    return { clusterName, brokerName, brokerId, brokerAddr };
  }

  /** A fresh snapshot: the newest table, whichever change triggered the attempt. */
  private registration(): BrokerRegistration {
    const { identity, topics } = this.options;
    return {
      ...this.identity(),
      ...(identity.haAddr === undefined ? {} : { haAddr: identity.haAddr }),
      version: identity.version,
      dataVersion: topics.dataVersion,
      ...this.options.diskUse?.(),
      topicConfigs: topics.list(),
    };
  }
}
