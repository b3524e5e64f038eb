/**
 * The in-process event bus: typed events, synchronous dispatch, no serialization. Modules in
 * one process (store, broker, HA, HTTP) use it instead of a TCP hop. A listener that throws is
 * reported and does not stop the others.
 */

export type Listener<Payload> = (payload: Payload) => void;

export class EventBus<Events extends { [name: string]: unknown }> {
  // Keyed by any name, so a bus of many modules' events can be handed to each module as a bus of its own.
  private readonly listeners = new Map<PropertyKey, Set<Listener<never>>>();

  constructor(private readonly onListenerError: (name: string, error: unknown) => void = defaultOnError) {}

  on<Name extends keyof Events>(name: Name, listener: Listener<Events[Name]>): () => void {
    let set = this.listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(name, listener);
  }

  off<Name extends keyof Events>(name: Name, listener: Listener<Events[Name]>): void {
    this.listeners.get(name)?.delete(listener as Listener<never>);
  }

  emit<Name extends keyof Events>(name: Name, payload: Events[Name]): void {
    const set = this.listeners.get(name);
    if (set === undefined || set.size === 0) return;
    for (const listener of set) {
      try {
        (listener as Listener<Events[Name]>)(payload);
      } catch (error) {
        this.onListenerError(String(name), error);
      }
    }
  }

  listenerCount(name: keyof Events): number {
    return this.listeners.get(name)?.size ?? 0;
  }
}

function defaultOnError(name: string, error: unknown): void {
  console.error(`Event listener for "${name}" failed: ${error instanceof Error ? error.stack : String(error)}`);
}
