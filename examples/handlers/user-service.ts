/**
 * The README's decorated handler method example.
 * In your project the import is `from 'kx-events-decorators'`; here it is the package's source.
 */
import { EventTracking } from '../../packages/kx-events-decorators/src';

export class UserService {
  @EventTracking('user', 'user_created', {
    source: 'api',
    pointsAwarded: 100,
  })
  async createUser(_event: unknown, _context?: unknown) {
    // Your handler logic here
    return { success: true, userId: 'user_123' };
  }
}

const service = new UserService();

/** The Lambda entry point: `event.clientId` (or a header, the body, the authorizer) names the client. */
export const handler = (event: unknown, context?: unknown) => service.createUser(event, context);
