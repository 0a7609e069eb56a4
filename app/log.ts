import { type Logger, pino } from 'pino';

export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: ['req.headers.cookie', 'req.headers.authorization', 'req.headers["x-csrf-token"]', 'res.headers["set-cookie"]'],
      censor: '[redacted]',
    },
  });
}

/** Recovery and setup links carry their secret in the path: never let it reach a log line. */
export function redactUrl(url: string): string {
  return url.replace(/^\/recovery\/[^/?#]+/, '/recovery/[token]');
}
