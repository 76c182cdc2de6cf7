/**
 * A one-line live status on a terminal (redrawn in place), nothing otherwise: piped output and
 * --json stay clean.
 */
export function liveLine(write: (text: string) => void, isTTY: boolean) {
  let drawn = false;
  return {
    update(text: string) {
      if (!isTTY) return;
      write(`\r\x1b[2K${text}`);
      drawn = true;
    },
    done() {
      if (drawn) write('\r\x1b[2K');
      drawn = false;
    },
  };
}

/** `[#####-----]` for a fraction from 0 to 1. */
export function bar(fraction: number, width = 20): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}
