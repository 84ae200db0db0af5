/** Waiting on a Platform's clock (so the in-memory twins' manual clock drives it too). */
import type { PlatformClock, PlatformTimer } from './platform.ts';

/** Resolves once `p` settles or `ms` have passed on `clock`, whichever is first (without `p`: after `ms`). */
export async function waitAtMost(clock: PlatformClock, ms: number, p?: Promise<unknown>): Promise<void> {
  let timer: PlatformTimer | undefined;
  const limit = new Promise<void>((resolve) => {
    timer = clock.timer(resolve);
    timer.arm(clock.now() + ms);
  });
  try {
    await (p ? Promise.race([p, limit]) : limit);
  } finally {
    timer?.stop();
  }
}
