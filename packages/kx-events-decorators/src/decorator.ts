import { EventExtra, TrackingOptions, withEventTracking } from './event-tracking';

/**
 * A method decorator for both decorator styles: TC39 standard decorators (TypeScript 5+, the default)
 * and legacy `experimentalDecorators`.
 */
export interface EventTrackingDecorator {
  /** TC39 standard decorator. */
  <T extends (...args: any[]) => any>(method: T, context: ClassMethodDecoratorContext): T;
  /** Legacy (`experimentalDecorators`) decorator. */
  (target: object, propertyKey: string | symbol, descriptor: PropertyDescriptor): PropertyDescriptor;
}

/**
 * Publishes one event each time the decorated handler method succeeds: a thin front on
 * {@link withEventTracking}, which documents the behaviour. The decorated method returns a promise.
 */
export function EventTracking(entityType: string, eventType: string, extra?: EventExtra, options?: TrackingOptions): EventTrackingDecorator {
  const decorate = (target: unknown, contextOrKey: unknown, descriptor?: PropertyDescriptor): unknown => {
    if (isStandardContext(contextOrKey)) {
      if (contextOrKey.kind !== 'method') throw new TypeError(`@EventTracking decorates methods, not a ${contextOrKey.kind}`);
      return withEventTracking(target as (...args: any[]) => any, entityType, eventType, extra, options);
    }
    if (typeof descriptor?.value !== 'function') {
      throw new TypeError(`@EventTracking decorates methods: ${String(contextOrKey)} is not a method`);
    }
    descriptor.value = withEventTracking(descriptor.value, entityType, eventType, extra, options);
    return descriptor;
  };
  return decorate as EventTrackingDecorator;
}

function isStandardContext(value: unknown): value is { kind: string } {
  return typeof value === 'object' && value !== null && 'kind' in value;
}
