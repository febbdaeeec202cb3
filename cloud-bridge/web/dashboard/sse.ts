/**
 * Server-sent events from a fetch() body (EventSource cannot send the Authorization header):
 * calls onData with each event's data. Only what the server sends is handled (data lines,
 * comments, LF or CRLF line ends); id, event and retry are not used. onChunk runs for every
 * chunk read (the idle watchdog); returning false stops reading.
 */
export function readEvents(body: ReadableStream<Uint8Array>, onChunk: () => boolean, onData: (data: string) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let data: string[] = [];
  const line = (l: string): void => {
    if (l === '') {
      if (data.length) {
        const d = data.join('\n');
        data = [];
        onData(d);
      }
      return;
    }
    if (l.charAt(0) === ':') return; // comment: the server's heartbeat
    const i = l.indexOf(':');
    const field = i < 0 ? l : l.slice(0, i);
    let value = i < 0 ? '' : l.slice(i + 1);
    if (value.charAt(0) === ' ') value = value.slice(1);
    if (field === 'data') data.push(value);
  };
  const pump = (): Promise<void> =>
    reader.read().then((r) => {
      if (r.done) return;
      if (!onChunk()) {
        void reader.cancel();
        return;
      }
      buf += decoder.decode(r.value, { stream: true });
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) line(l.charAt(l.length - 1) === '\r' ? l.slice(0, -1) : l);
      return pump();
    });
  return pump();
}
