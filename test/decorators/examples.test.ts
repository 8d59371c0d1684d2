/**
 * The seed's four handler examples (examples/handlers) compile unchanged in both decorator
 * modes, and work: each publishes the event the seed describes.
 */
import * as fs from 'fs';
import * as path from 'path';
import { compileInMode, DECORATOR_MODES } from '../../packages/kx-events-decorators/test/compile-in-mode';

const RUNNER = path.join(__dirname, 'fixtures', 'run-examples.ts');
const EXAMPLES = path.join(__dirname, '..', '..', 'examples', 'handlers');
/** The examples that use @EventTracking. */
const DECORATED_EXAMPLES = fs.readdirSync(EXAMPLES).filter((file) => fs.readFileSync(path.join(EXAMPLES, file), 'utf8').includes('@EventTracking('));

describe.each(DECORATOR_MODES)('examples/handlers with %s decorators', (mode) => {
  const compilation = compileInMode(mode, [RUNNER]);
  afterAll(() => compilation.dispose());

  test('compile without a diagnostic', () => {
    expect(compilation.diagnostics).toEqual([]);
    expect(DECORATED_EXAMPLES.length).toBeGreaterThan(0);
  });

  test.each(DECORATED_EXAMPLES)(`%s is compiled with ${mode} decorators`, (file) => {
    const [used, other] = mode === 'legacy' ? ['__decorate(', '__esDecorate('] : ['__esDecorate(', '__decorate('];
    const emitted = compilation.emitted(path.join(EXAMPLES, file));
    expect(emitted).toContain(used);
    expect(emitted).not.toContain(other);
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
