/** Tries an operation again (three times in all, waiting 0.5 s then 1 s) when it failed transiently (support/docker.ts). */
export async function withRetry<T>(op: () => Promise<T>, attempts = 3): Promise<T> {
  let delay = 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (attempt >= attempts || !(err as { transient?: unknown }).transient) throw err;
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
  }
}
