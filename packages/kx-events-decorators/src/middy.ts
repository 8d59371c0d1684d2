/**
 * The Middy middleware, at `kx-events-decorators/middy`. `@middy/core` is an optional peer
 * dependency: only its types are imported here.
 */
import type { MiddlewareObj } from '@middy/core';
import { EventExtra, TrackingOptions, trackingSpec, trackResult } from './event-tracking';

/**
 * Publishes one event after the handler succeeds (Middy's `after` phase), with the same behaviour
 * as `withEventTracking`: `handler.use(eventTracking('user', 'user_created'))`.
 */
export function eventTracking<TEvent = any, TResult = any>(
  entityType: string,
  eventType: string,
  extra?: EventExtra<TResult, TEvent>,
  options?: TrackingOptions,
): MiddlewareObj<TEvent, TResult> {
  const spec = trackingSpec(entityType, eventType, extra, options);
  return {
    after: async (request) => {
      await trackResult(spec, request.event, request.context, request.response);
    },
  };
}
