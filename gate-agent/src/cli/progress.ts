/** A one-line progress bar on stderr, redrawn at most every 100 ms; silent when stderr is not a terminal. */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr) {
  let last = 0;
  const enabled = stream.isTTY === true;
  return {
    update(done: number, total: number, extra = '') {
      if (!enabled) return;
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const ratio = total > 0 ? Math.min(1, done / total) : 1;
      const width = 30;
      const filled = Math.round(ratio * width);
      stream.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}% ${extra}`);
    },
    done() {
      if (enabled) stream.write('\n');
    },
  };
}
