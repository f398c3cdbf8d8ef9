// StudioCore's event bus: services emit contract events; transports forward them to clients.
import { events, type EventName, type PayloadOf } from '../../src-shared/api';

export type AnyEventListener = (event: EventName, payload: unknown) => void;

export class EventBus {
  private readonly listeners = new Set<AnyEventListener>();

  emit<E extends EventName>(event: E, payload: PayloadOf<E>): void {
    // Validated on the way out too: a service bug must not ship a malformed event.
    const checked = events[event].parse(payload);
    for (const l of [...this.listeners]) {
      try {
        l(event, checked);
      } catch {
        // one broken subscriber must not stop the others
      }
    }
  }

  subscribe(listener: AnyEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get size(): number {
    return this.listeners.size;
  }
}
