type Chunk = { done: false; value: Uint8Array } | { done: true; value?: undefined };

/**
 * The response with its body re-streamed: every read of the original goes through `aroundRead`, and
 * `onClose` runs once when the body ends, fails or is cancelled. Pull-based, so nothing is read
 * ahead of the consumer.
 */
export function rewrapBody(
  res: Response,
  hooks: { aroundRead?: (read: () => Promise<Chunk>) => Promise<Chunk>; onClose?: () => void },
): Response {
  if (!res.body || [101, 204, 205, 304].includes(res.status)) {
    hooks.onClose?.();
    return res;
  }
  const reader: { read(): Promise<Chunk>; cancel(reason?: unknown): Promise<void> } = res.body.getReader();
  const around = hooks.aroundRead ?? ((read: () => Promise<Chunk>) => read());
  const close = () => hooks.onClose?.();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await around(() => reader.read());
          if (done) {
            close();
            controller.close();
          } else controller.enqueue(value);
        } catch (e) {
          close();
          throw e;
        }
      },
      cancel: (reason) => {
        close();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}
