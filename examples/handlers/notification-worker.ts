/**
 * The README's worker Lambda example, with a tiny email service that only records what it sends.
 * In your project the import is `from 'kx-events-decorators'`; here it is the package's source.
 */
import { EventTracking } from '../../packages/kx-events-decorators/src';

/** Stands in for a real email service: records each job it would send. */
export class RecordingEmailService {
  readonly sent: Array<Record<string, unknown>> = [];

  async send(job: Record<string, unknown>): Promise<void> {
    this.sent.push(job);
  }
}

export class NotificationWorker {
  constructor(private readonly emailService = new RecordingEmailService()) {}

  @EventTracking('notification', 'email_sent', {
    source: 'worker',
    pointsAwarded: 10,
  })
  async processEmailJob(event: { clientId: string; jobId: string; [key: string]: any }) {
    // clientId extracted from event.clientId
    await this.emailService.send(event);
    return { success: true };
  }
}

const worker = new NotificationWorker();

/** The Lambda entry point, for a worker invoked with `{ clientId, jobId, ... }`. */
export const handler = (event: { clientId: string; jobId: string; [key: string]: any }) => worker.processEmailJob(event);
