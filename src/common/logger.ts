/**
 * A small leveled logger writing one line per event to stderr, so stdout stays free for
 * command output (tables, JSON) that scripts parse.
 */

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  child(scope: string): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  scope?: string;
  write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = levelRank[options.level ?? (process.env.MQ_LOG_LEVEL as LogLevel | undefined) ?? "info"] ?? 20;
  const write = options.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const scope = options.scope;
  const log = (level: LogLevel, message: string) => {
    if (levelRank[level] < threshold) return;
    const time = new Date().toISOString();
    write(`${time} ${level.toUpperCase().padEnd(5)} ${scope ? `[${scope}] ` : ""}${message}`);
  };
  return {
    debug: (message) => log("debug", message),
    info: (message) => log("info", message),
    warn: (message) => log("warn", message),
    error: (message) => log("error", message),
    child: (childScope) =>
      createLogger({ ...options, scope: scope ? `${scope}.${childScope}` : childScope }),
  };
}

export const silentLogger: Logger = createLogger({ level: "silent" });
