/**
 * Terminal-safe text. Values the CLI prints come from submitters (file names), queues and Altinn: a raw
 * escape sequence could clear the screen or forge a line. Every write of the bin goes through `printable`
 * (cli/main.ts, after redaction), so every command, present and future, is covered, in text and JSON alike.
 */

/** C0/C1 controls, DEL, bidirectional overrides and isolates, line/paragraph separators. */
const UNSAFE = /[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/gu;

/** `\uXXXX`: readable on a terminal and, inside a JSON string, the same character again (the JSON stays valid). */
const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** Every unsafe character escaped except the line breaks the output itself is made of. */
export function printable(text: string): string {
  return text.replace(UNSAFE, (c) => (c === '\n' ? c : escape(c)));
}

/** A value inside one line (a table cell, a name in a sentence): line breaks escaped too. */
export function oneLine(value: string): string {
  return value.replace(UNSAFE, escape);
}
