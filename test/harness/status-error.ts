import { StatusError } from '../../pkg/apierrors';

/** The StatusError `fn` throws (any other error is thrown on; none at all fails the test). */
export function statusErrorOf(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StatusError) return e;
    throw e;
  }
  throw new Error('expected a StatusError');
}
