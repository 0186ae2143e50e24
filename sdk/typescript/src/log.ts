/** Where the SDK reports what it does on its own: a lost change stream, a failed verification. Lines never hold a key. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The default logger: the console. */
export const consoleLogger: Logger = {
  info: (m, f) => (f ? console.info(m, f) : console.info(m)),
  warn: (m, f) => (f ? console.warn(m, f) : console.warn(m)),
  error: (m, f) => (f ? console.error(m, f) : console.error(m)),
};

/** A logger that drops everything. */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** The message of an error, for a log line. */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error && !err.message.includes(cause.message) ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}
