/**
 * The engine behind every front (withEventTracking, @EventTracking, the Middy middleware): after a
 * handler succeeds, build its event and publish it, awaited within the deadline. It never throws and
 * never touches the handler's result; a handler's error propagates unchanged, and no event is sent.
 */
import { TrackedEvent } from './contract';
import { ExtractionOptions } from './extraction';
import { describeError, writeLog } from './log';
import { publishEvent, PublishOptions, publishTimeoutMs } from './publishing';
import { createTrackedEvent } from './tracked-event';

/**
 * Fields to add to each event. Each is a value, or a function of the handler's result, event and
 * Lambda context that returns it, so that, for example, `entityId` can come from what the handler
 * returned: `{ entityId: (result) => result.userId }`. A function that returns undefined leaves the
 * field out. `entityType` and `eventType` always come from the arguments. `eventId`, if given, must be
 * a function (a constant would give every event the same id): see {@link eventIdFrom}.
 */
export type EventExtra<TResult = any, TEvent = any> = {
  [K in keyof TrackedEvent]?: TrackedEvent[K] | ((result: TResult, event: TEvent, context: any) => TrackedEvent[K] | undefined);
};

/** How a tracked handler reads its request (see {@link ExtractionOptions}) and publishes (see {@link PublishOptions}). */
export interface TrackingOptions extends PublishOptions, ExtractionOptions {}

/** What one tracked handler publishes, and how. */
export interface TrackingSpec {
  readonly entityType: string;
  readonly eventType: string;
  readonly extra?: EventExtra;
  readonly options?: TrackingOptions;
}

/**
 * Wraps a Lambda handler (async or not) so that each successful invocation publishes one event.
 * The wrapper returns the handler's own result, after the publish has settled or its deadline has passed.
 * An API Gateway result whose `statusCode` is 400 or more is not a success: no event.
 */
export function withEventTracking<H extends (...args: any[]) => any>(
  handler: H,
  entityType: string,
  eventType: string,
  extra?: EventExtra<Awaited<ReturnType<H>>, Parameters<H>[0]>,
  options?: TrackingOptions,
): (this: ThisParameterType<H>, ...args: Parameters<H>) => Promise<Awaited<ReturnType<H>>> {
  const spec = trackingSpec(entityType, eventType, extra, options);
  const tracked = async function (this: ThisParameterType<H>, ...args: Parameters<H>): Promise<Awaited<ReturnType<H>>> {
    const result = await handler.apply(this, args);
    await trackResult(spec, args[0], args[1], result);
    return result;
  };
  Object.defineProperty(tracked, 'name', { value: handler.name });
  return tracked;
}

/**
 * @internal The spec of a tracked handler, checked once, when the handler is wrapped: a constant
 * `extra.eventId` is refused, with a TypeError, because every event would then share one id, and the
 * consumer would store the first and drop every other as its duplicate.
 */
export function trackingSpec(entityType: string, eventType: string, extra?: EventExtra, options?: TrackingOptions): TrackingSpec {
  if (extra?.eventId !== undefined && typeof extra.eventId !== 'function') {
    throw new TypeError('extra.eventId must be a function of (result, event, context) that derives each event\'s id, such as '
      + `(result, event, context) => eventIdFrom(context.awsRequestId); got the constant ${JSON.stringify(extra.eventId)}, `
      + 'which would give every event the same id, so that only the first is stored');
  }
  return { entityType, eventType, extra, options };
}

/** @internal After a handler resolved with `result`: publish its event if it succeeded. Never throws. */
export async function trackResult(spec: TrackingSpec, event: unknown, context: unknown, result: unknown): Promise<void> {
  try {
    if (!succeeded(result)) return;
    const tracked = createTrackedEvent(spec.entityType, spec.eventType, event, context, resolveExtra(spec, result, event, context), spec.options);
    if (tracked) await publishEvent(tracked, withinInvocation(context, spec.options));
  } catch (err) {
    writeLog('WARN', 'kx-events.tracking-failed', 'the event could not be built: no event is tracked', {
      entityType: spec.entityType,
      eventType: spec.eventType,
      error: describeError(err),
    });
  }
}

/** Time left for Lambda to return the handler's result after the publish: the deadline ends this much before the invocation's. */
export const RESULT_MARGIN_MS = 100;

/**
 * The publish options, with the deadline cut to the invocation's remaining time (less {@link RESULT_MARGIN_MS})
 * when the Lambda context tells it: a publish must never turn a handler's success into a function timeout.
 */
function withinInvocation(context: unknown, options: PublishOptions = {}): PublishOptions {
  const remainingMs = (context as { getRemainingTimeInMillis?: () => unknown } | undefined)?.getRemainingTimeInMillis?.();
  if (typeof remainingMs !== 'number' || !Number.isFinite(remainingMs)) return options;
  return { ...options, timeoutMs: Math.max(1, Math.min(publishTimeoutMs(options), Math.floor(remainingMs) - RESULT_MARGIN_MS)) };
}

function succeeded(result: unknown): boolean {
  const statusCode = typeof result === 'object' && result !== null ? (result as { statusCode?: unknown }).statusCode : undefined;
  return !(typeof statusCode === 'number' && statusCode >= 400);
}

/** The extra fields with their functions called; an error names the field whose function threw. */
function resolveExtra(spec: TrackingSpec, result: unknown, event: unknown, context: unknown): Partial<TrackedEvent> | undefined {
  const extra = spec.extra;
  if (!extra) return undefined;
  const fields: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(extra)) {
    if (typeof value !== 'function') {
      fields[field] = value;
      continue;
    }
    try {
      fields[field] = value(result, event, context);
    } catch (err) {
      throw new ExtraFieldError(field, err);
    }
  }
  return fields as Partial<TrackedEvent>;
}

/** An `extra` field's function threw. */
export class ExtraFieldError extends Error {
  public readonly data: { readonly field: string };

  constructor(field: string, cause: unknown) {
    super(`extra.${field} threw: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'ExtraFieldError';
    this.data = { field };
  }
}
