/** The four handler examples of the README, for the local demo and the tests. */
export { UserService, handler as userServiceHandler } from './user-service';
export { InMemoryUserService, UserController, handler as userControllerHandler } from './user-controller';
export type { User } from './user-controller';
export { NotificationWorker, RecordingEmailService, handler as notificationWorkerHandler } from './notification-worker';
export { handler as manualPublishingHandler } from './manual-publishing';
