import * as events from 'aws-cdk-lib/aws-events';
import { DEFAULT_EVENT_SOURCE, EVENT_SOURCE_RULE, isEventSource } from './private/event-source';

/**
 * What a subscriber's rule matches, for `EventFanOut.eventPattern`. A field left out matches any value;
 * the fields given must all match.
 */
export interface FanOutPatternOptions {
  /**
   * The entity types to match (`entityType`, 1..48 characters each).
   *
   * @default - any entity type
   */
  readonly entityTypes?: string[];

  /**
   * The event types to match (`eventType`, 1..48 characters each).
   *
   * @default - any event type
   */
  readonly eventTypes?: string[];

  /**
   * The client ids to match (`clientId`, 1..128 characters each).
   *
   * @default - any client
   */
  readonly clientIds?: string[];

  /**
   * The pipeline's `eventSource`.
   *
   * @default 'kx-events'
   */
  readonly source?: string;
}

/**
 * Helpers for the subscribers of a pipeline's fan-out (`fanOutEnabled`, `eventBus`).
 *
 * Every stored event is put to the bus with the pipeline's `eventSource` as source, `entityType.eventType`
 * as detail-type, and the TrackedEvent as stored as detail, at least once: subscribers deduplicate by
 * `detail.eventId`.
 */
export class EventFanOut {
  /**
   * An event pattern for a rule on the pipeline's bus: the pipeline's events of the given entity types,
   * event types and clients.
   *
   * @example
   * declare const pipeline: KxEventsPipeline;
   * declare const signups: sqs.IQueue;
   * new events.Rule(this, 'Signups', {
   *   eventBus: pipeline.eventBus,
   *   eventPattern: EventFanOut.eventPattern({ entityTypes: ['user'], eventTypes: ['user_created'] }),
   *   targets: [new targets.SqsQueue(signups)],
   * });
   */
  public static eventPattern(options: FanOutPatternOptions = {}): events.EventPattern {
    const problems = [
      ...listProblems('entityTypes', options.entityTypes, 48),
      ...listProblems('eventTypes', options.eventTypes, 48),
      ...listProblems('clientIds', options.clientIds, 128),
      ...options.source === undefined || isEventSource(options.source) ? [] : [`source: must be ${EVENT_SOURCE_RULE}, got ${JSON.stringify(options.source)}`],
    ];
    if (problems.length > 0) throw new Error(`EventFanOut.eventPattern: ${problems.join('; ')}`);
    const detail: Record<string, string[]> = {};
    if (options.entityTypes) detail.entityType = [...options.entityTypes];
    if (options.eventTypes) detail.eventType = [...options.eventTypes];
    if (options.clientIds) detail.clientId = [...options.clientIds];
    return {
      source: [options.source ?? DEFAULT_EVENT_SOURCE],
      ...Object.keys(detail).length > 0 ? { detail } : {},
    };
  }

  private constructor() {}
}

/** The problems of a list of values to match: none given is fine, an empty list matches nothing. */
function listProblems(name: string, values: string[] | undefined, maxLength: number): string[] {
  if (values === undefined) return [];
  if (values.length === 0) return [`${name}: must hold at least one value (leave it out to match any), got []`];
  return values.flatMap((value) => (typeof value === 'string' && value.length >= 1 && value.length <= maxLength ? []
    : [`${name}: each must be 1..${maxLength} characters, got ${JSON.stringify(value)}`]));
}
