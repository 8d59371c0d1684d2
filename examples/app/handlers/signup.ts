import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { EventTracking } from 'kx-events-decorators';

/**
 * A producer: after each successful sign-up, @EventTracking publishes a `user/user_created` event to
 * the queue named by EVENTS_QUEUE_URL (set by `pipeline.addProducer`). The clientId comes from the
 * X-Client-Id header or the body; the entityId from what the handler returns.
 */
class SignupController {
  @EventTracking('user', 'user_created', {
    source: 'api',
    pointsAwarded: 100,
    entityId: (result: APIGatewayProxyResult) => JSON.parse(result.body).userId,
  })
  async createUser(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    const body = JSON.parse(event.body ?? '{}') as { email?: string };
    if (!body.email) {
      return { statusCode: 400, body: JSON.stringify({ error: 'email is required' }) };
    }
    const userId = `user_${Buffer.from(body.email).toString('hex').slice(0, 12)}`;
    return { statusCode: 201, body: JSON.stringify({ userId }) };
  }
}

const controller = new SignupController();
export const handler = (event: APIGatewayProxyEvent) => controller.createUser(event);
