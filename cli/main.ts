#!/usr/bin/env node
import { createInterface } from 'node:readline/promises';
import { systemClock } from '../lib/clock.js';
import { createLogger } from '../lib/log.js';
import { redact } from '../lib/redact.js';
import { oneLine, printable } from './output.js';
import { runCli } from './run.js';

/** The `altinn-receiver` bin: real terminal, process environment, current directory. Every write redacted, then made printable. */
const io = {
  out: (text: string) => void process.stdout.write(printable(redact(text))),
  err: (text: string) => void process.stderr.write(printable(redact(text))),
  redraw: (text: string) => void process.stderr.write(`\r\x1b[2K${oneLine(redact(text))}`),
  stdinIsTTY: process.stdin.isTTY === true,
  stderrIsTTY: process.stderr.isTTY === true,
  async ask(question: string) {
    // Prompts go to stderr so that --json output on stdout stays clean.
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return await rl.question(printable(redact(question)));
    } finally {
      rl.close();
    }
  },
};

process.exitCode = await runCli(process.argv.slice(2), {
  io,
  env: process.env,
  cwd: process.cwd(),
  clock: systemClock,
  log: createLogger((_level, line) => io.err(`${line}\n`), {}, 'warn'),
});
