/**
 * Failures the CLI explains: what went wrong and what to do. Every command ends on one of these
 * (exit code 1) rather than on a stack trace.
 */
export class CliError extends Error {
  constructor(message: string, public readonly hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** Wrong usage: a missing or malformed option (exit code 2). */
export class UsageError extends CliError {
  constructor(message: string, hint = 'Run "kx-events --help" for the commands and their options.') {
    super(message, hint);
    this.name = 'UsageError';
  }
}

/** The AWS SDK's error as a CliError that says what to check; `subject` names what was addressed. */
export function explainAwsError(err: unknown, subject: { what: string; option: string }): CliError {
  if (err instanceof CliError) return err;
  const name = (err as { name?: string }).name ?? '';
  const message = (err as { message?: string }).message ?? String(err);
  if (/NonExistentQueue|QueueDoesNotExist/.test(name) || /queue does not exist/i.test(message)) {
    return new CliError(`${subject.what} does not exist (${message})`, `Check ${subject.option} and the region (AWS_REGION or --region).`, { cause: err });
  }
  if (name === 'ResourceNotFoundException') {
    return new CliError(`${subject.what} does not exist (${message})`, `Check ${subject.option} and the region (AWS_REGION or --region).`, { cause: err });
  }
  if (name === 'CredentialsProviderError' || /credential/i.test(message)) {
    return new CliError(`no AWS credentials for ${subject.what} (${message})`, 'Set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.', { cause: err });
  }
  if (/Region is missing/i.test(message)) {
    return new CliError('no AWS region', 'Set AWS_REGION or pass --region.', { cause: err });
  }
  if (/AccessDenied|UnauthorizedOperation|not authorized/i.test(`${name} ${message}`)) {
    return new CliError(`access denied to ${subject.what} (${message})`, 'Use credentials whose role may read it (see the README\'s CLI reference for the permissions).', { cause: err });
  }
  return new CliError(`${subject.what}: ${name ? `${name}: ` : ''}${message}`, `Check ${subject.option}, the region and the credentials, then run the command again: it is safe to repeat.`, { cause: err });
}
