/** Redis did not answer a command that needs it: the CLI prints the message as one line, exit 1. */
export class RedisUnreachableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RedisUnreachableError';
  }
}
