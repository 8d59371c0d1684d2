/**
 * The Source of the events the consumer fans out to EventBridge: its default and its rule, for the
 * construct's validation and the consumer's configuration alike. Plain constants only: the consumer's
 * bundle imports this file.
 */

/** The Source of the fanned-out events, unless the pipeline's `eventSource` says otherwise. */
export const DEFAULT_EVENT_SOURCE = 'kx-events';

/** What a Source may be, as PutEvents takes it. */
export const EVENT_SOURCE_RULE = '1..256 characters, not starting with "aws." (which AWS reserves for its services)';

export function isEventSource(value: string): boolean {
  return value.length >= 1 && value.length <= 256 && !value.startsWith('aws.');
}
