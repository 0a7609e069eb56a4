/**
 * Errors that carry what the client should be told. They live below HTTP so that models can raise
 * them; the error handler (app/http/errors.ts) turns them into a page, a toast or JSON.
 */
export class HttpError extends Error {
  /**
   * `up`, for a thing that is not there (404): the page that lists such things. A region of the
   * thing's own page that reloads after a change (it was deleted, here or by someone else) takes the
   * browser there instead of staying on a page about nothing.
   */
  constructor(
    readonly status: number,
    message: string,
    readonly up?: string,
  ) {
    super(message);
  }
}

/** A request the rules refuse (deleting yourself, removing the last administrator), with the reason. */
export class RuleError extends HttpError {
  constructor(message: string) {
    super(422, message);
  }
}
