// For the contract test: one valid params sample per method and one trigger per event. The test
// lists methods and events from api.ts, so a new method without a sample here fails it.
import type { MethodName, EventName, StudioClient } from '../../src-shared/api';

export const METHOD_SAMPLES: Record<MethodName, unknown> = {
  'system.info': {},
  'system.diagnostics': {},
  'settings.get': {},
  'settings.set': { memoryMode: 'low' },
};

/** An invalid params value per method (violates its schema). */
export const INVALID_SAMPLES: Partial<Record<MethodName, unknown>> = {
  'settings.set': { memoryMode: 'turbo' },
  'system.info': { unexpected: 1 },
};

/** Something a client does that makes the core emit the event. */
export const EVENT_TRIGGERS: Record<EventName, (client: StudioClient) => Promise<unknown>> = {
  'settings.changed': (c) => c.call('settings.set', { livePreviews: false }),
};
