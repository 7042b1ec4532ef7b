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
