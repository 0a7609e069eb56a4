/**
 * Errors that carry what the client should be told. They live below HTTP so that models can raise
 * them; the error handler (app/http/errors.ts) turns them into a page, a toast or JSON.
 */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** A request the rules refuse (deleting yourself, removing the last administrator), with the reason. */
export class RuleError extends HttpError {
  constructor(message: string) {
    super(422, message);
  }
}
