/**
 * The seed's four handler examples (examples/handlers) compile unchanged in both decorator
 * modes, and work: each publishes the event the seed describes.
 */
import * as path from 'path';
import { compileInMode, DECORATOR_MODES } from '../../packages/kx-events-decorators/test/compile-in-mode';

const RUNNER = path.join(__dirname, 'fixtures', 'run-examples.ts');

describe.each(DECORATOR_MODES)('examples/handlers with %s decorators', (mode) => {
  const compilation = compileInMode(mode, [RUNNER]);
  afterAll(() => compilation.dispose());

  test('compile without a diagnostic', () => {
    expect(compilation.diagnostics).toEqual([]);
  });

  test('run, return their own results, and publish the seed events', async () => {
    const outcome = await compilation.run(RUNNER) as Record<string, any>;
    expect(outcome.service).toEqual({ success: true, userId: 'user_123' });
    expect(outcome.controller.statusCode).toBe(201);
    expect(JSON.parse(outcome.controller.body).user.name).toBe('Ada');
    expect(outcome.worker).toEqual({ success: true });
    expect(outcome.emailsSent).toBe(1);
    expect(outcome.manual.success).toBe(true);
    expect(outcome.events).toEqual([
      expect.objectContaining({ clientId: 'acme', entityType: 'user', eventType: 'user_created', source: 'api', pointsAwarded: 100 }),
      expect.objectContaining({ clientId: 'acme', entityType: 'user', eventType: 'user_created', previousEventId: '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b' }),
      expect.objectContaining({ clientId: 'acme', entityType: 'notification', eventType: 'email_sent', source: 'worker', pointsAwarded: 10 }),
      expect.objectContaining({
        clientId: 'acme',
        entityType: 'payment',
        eventType: 'payment_completed',
        userId: 'user_123',
        entityId: 'payment_456',
        pointsAwarded: 50,
        metadata: { amount: 99.99, currency: 'USD' },
        eventId: outcome.manual.eventId,
      }),
    ]);
  });
});
