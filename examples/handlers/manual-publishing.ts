/**
 * The README's manual publishing example, inside a handler.
 * In your project the import is `from 'kx-events-decorators'`; here it is the package's source.
 */
import { createTrackedEvent, publishEvent } from '../../packages/kx-events-decorators/src';

/** A payment handler that publishes its event by hand. */
export async function handler(event: unknown, context?: unknown) {
  // In your handler
  const trackedEvent = createTrackedEvent(
    'payment',
    'payment_completed',
    event,
    context,
    {
      userId: 'user_123',
      entityId: 'payment_456',
      pointsAwarded: 50,
      metadata: { amount: 99.99, currency: 'USD' },
    },
  );

  if (trackedEvent) {
    await publishEvent(trackedEvent);
  }
  return { success: true, eventId: trackedEvent?.eventId ?? null };
}
