/**
 * A one-line live status on a terminal (redrawn in place), nothing otherwise: piped output and
 * --json stay clean.
 */
export function liveLine(redraw: (text: string) => void, isTTY: boolean) {
  let drawn = false;
  return {
    update(text: string) {
      if (!isTTY) return;
      redraw(text);
      drawn = true;
    },
    done() {
      if (drawn) redraw('');
      drawn = false;
    },
  };
}

/** `[#####-----]` for a fraction from 0 to 1. */
export function bar(fraction: number, width = 20): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}
