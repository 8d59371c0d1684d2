/**
 * The README's API handler example, with a tiny in-memory user store so it runs.
 * In your project the import is `from 'kx-events-decorators'`; here it is the package's source.
 */
import { randomUUID } from 'crypto';
import { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { EventTracking } from '../../packages/kx-events-decorators/src';

export interface User {
  id: string;
  name: string;
}

/** Stands in for a real user service: keeps users in memory. */
export class InMemoryUserService {
  readonly users = new Map<string, User>();

  async create(body: { name?: string }): Promise<User> {
    const user = { id: randomUUID(), name: body.name ?? 'anonymous' };
    this.users.set(user.id, user);
    return user;
  }
}

export class UserController {
  constructor(private readonly userService = new InMemoryUserService()) {}

  @EventTracking('user', 'user_created')
  async createUser(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    // clientId extracted from headers['X-Client-Id'] or body.clientId
    // previousEventId extracted from headers['X-Previous-Event-Id'] or body.previousEventId

    const body = JSON.parse(event.body || '{}');

    // Your business logic
    const user = await this.userService.create(body);

    return {
      statusCode: 201,
      body: JSON.stringify({ success: true, user }),
    };
  }
}

const controller = new UserController();

/** The Lambda entry point (API Gateway proxy integration). */
export const handler = (event: APIGatewayProxyEvent) => controller.createUser(event);
