import 'vitest';
import type { BaseMatcher } from 'aws-sdk-client-mock-vitest';

// The unit tests register `allCustomMatcher` with `expect.extend`; this makes those matchers typed.
declare module 'vitest' {
  // biome-ignore lint/suspicious/noExplicitAny: must match vitest's own declaration of Matchers.
  interface Matchers<T = any> extends BaseMatcher<T> {}
}
