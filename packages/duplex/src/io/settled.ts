/**
 * A promise with its settling functions (`Promise.withResolvers`, which Node 20 lacks). Its
 * rejection is for those who await it: it never counts as unhandled.
 */
export function settlement<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/**
 * How a piece of work ended, for those who ask: `done` settles with it, `signal` aborts when it
 * failed. Neither the promise nor the signal is made until somebody asks for it.
 */
export class Outcome {
  private ended: { error: Error | undefined } | undefined;
  private promise: ReturnType<typeof settlement<void>> | undefined;
  private controller: AbortController | undefined;

  get done(): Promise<void> {
    if (!this.promise) {
      this.promise = settlement<void>();
      if (this.ended) this.tell(this.promise, this.ended.error);
    }
    return this.promise.promise;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.ended?.error) this.controller.abort(this.ended.error);
    }
    return this.controller.signal;
  }

  /** The work ended, with `error` when it failed; only the first call counts. */
  end(error?: Error): void {
    if (this.ended) return;
    this.ended = { error };
    if (this.promise) this.tell(this.promise, error);
    if (error) this.controller?.abort(error);
  }

  private tell(promise: ReturnType<typeof settlement<void>>, error: Error | undefined): void {
    if (error) promise.reject(error);
    else promise.resolve();
  }
}
