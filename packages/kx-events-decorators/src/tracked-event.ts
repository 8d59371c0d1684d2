import { TrackedEvent } from './contract';
import { newEventId } from './event-id';
import { clientIdFrom, clientIdLookedIn, ExtractionOptions, LambdaRequest } from './extraction';
import { writeLog } from './log';

/**
 * A new TrackedEvent for a Lambda invocation: a fresh, time-ordered eventId (UUIDv7) and occurredAt, the clientId and
 * previousEventId extracted from `event` (and `context`) from the sources that `options.clientIdFrom`
 * trusts, then the `extra` fields, which win over what was extracted. `entityType` and `eventType` come from the arguments.
 *
 * Returns null, and logs one warning (`kx-events.no-client-id`), when no clientId can be found.
 * The event is not validated here: {@link publishEvent} validates it, and logs it whole if it is invalid.
 */
export function createTrackedEvent(
  entityType: string,
  eventType: string,
  event: unknown,
  context?: unknown,
  extra?: Partial<TrackedEvent>,
  options?: ExtractionOptions,
): TrackedEvent | null {
  const request = new LambdaRequest(event, context, clientIdFrom(options));
  const clientId = extra?.clientId ?? request.clientId();
  if (clientId === null || clientId === undefined) {
    writeLog('WARN', 'kx-events.no-client-id', 'no clientId in the request: no event is tracked', {
      entityType,
      eventType,
      lookedIn: clientIdLookedIn(request.mode),
    });
    return null;
  }
  const tracked: TrackedEvent = { eventId: newEventId(), clientId, entityType, eventType, occurredAt: new Date().toISOString() };
  const previousEventId = extra?.previousEventId ?? request.previousEventId();
  if (previousEventId !== null) tracked.previousEventId = previousEventId;
  if (extra) {
    for (const key of Object.keys(extra) as Array<keyof TrackedEvent>) {
      const value = extra[key];
      if (value !== undefined && key !== 'entityType' && key !== 'eventType') (tracked as unknown as Record<string, unknown>)[key] = value;
    }
  }
  return tracked;
}
