import { createLogger, type Logger } from '../../lib/log.js';

/** A logger that keeps its lines (every level) for the test to read. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return Object.assign(createLogger((_l, line) => lines.push(line), {}, 'debug'), { lines });
}
