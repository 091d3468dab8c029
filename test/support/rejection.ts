// What a promise rejected with, checked to be the expected kind of error.
import { expect } from 'vitest';

export async function rejectionOf<E extends Error>(promise: Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  const outcome = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  expect(outcome, 'it must reject, never resolve').toBeInstanceOf(type);
  return outcome as E;
}
