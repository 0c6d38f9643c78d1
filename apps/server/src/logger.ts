import { type DestinationStream, type Logger, type LevelWithSilent, pino } from 'pino';

export type { Logger };

/**
 * Structured logs (pino, one JSON object a line on stdout). Credentials never reach a log line: the
 * `Authorization` header is redacted wherever it appears.
 */
export function createLogger(level: LevelWithSilent, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'jifen' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['authorization', 'headers.authorization', '*.headers.authorization'], censor: '[redacted]' },
    },
    destination,
  );
}
