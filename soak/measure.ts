// What both soak processes measure about themselves: their handles and their memory, and the
// bounds these must keep once the load is over. Each process judges its own, so a leak is laid
// at the door of the side that has it.

const MiB = 1 << 20;
/**
 * RSS before the load is printed, not bounded: having carried 1,000 exchanges at all leaves RSS
 * 70 to 130 MiB higher after every GC (more at higher rates), since V8 keeps its heap at the size
 * the load grew it to and the allocator keeps its arenas. A leak is growth with time under the
 * same load, which the warm-up mark measures: taken at the end of a warm-up (a fifth of the
 * budget, under full load), when the heap and the allocator have grown to the load. After the
 * run RSS may be at most WARM_RSS_BOUND above that mark, and the live heap and the buffers
 * outside it LIVE_BOUND.
 */
const WARM_RSS_BOUND = 64 * MiB;
const LIVE_BOUND = 16 * MiB;
/** Time for sockets and their timers to go once everything is closed. */
const SETTLE_MS = 5_000;

const gc = (globalThis as { gc?: (options?: object) => void }).gc;

/** Exits unless node runs with --expose-gc, which the memory marks need. */
export function requireGc(): void {
  if (typeof gc !== 'function') {
    console.error('soak: run node with --expose-gc (scripts/soak.mjs does)');
    process.exit(2);
  }
}

/**
 * Makes stdout and stderr, which Node makes on first use (a console.log, a warning, a fork on
 * some lines), so that they count in the handles before as well as after; a turn later the
 * first write's own request is gone too.
 */
export async function openStdio(): Promise<void> {
  void process.stdout;
  void process.stderr;
  await new Promise((resolve) => setImmediate(resolve));
}

export const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;

/** Resource counts by type, as process.getActiveResourcesInfo() lists them. */
export type Handles = Record<string, number>;

export function handles(): Handles {
  const counts: Handles = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

const showHandles = (counts: Handles): string =>
  Object.keys(counts)
    .sort()
    .map((type) => `${type} ${counts[type]}`)
    .join(', ') || 'none';

function sameHandles(a: Handles, b: Handles): boolean {
  const types = Object.keys(a);
  if (types.length !== Object.keys(b).length) return false;
  return types.every((type) => a[type] === b[type]);
}

/**
 * The handles once they are back where they were (`before`), or as they are after SETTLE_MS:
 * sockets and their timers go on the next turns of the event loop, so they are not read too
 * early.
 */
async function settledHandles(before: Handles): Promise<Handles> {
  let after = handles();
  for (let waited = 0; !sameHandles(before, after) && waited < SETTLE_MS; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    after = handles();
  }
  return after;
}

/**
 * Collects until the buffers outside the heap stop falling (their stores go a GC late), then
 * once more in V8's "last resort" flavour, which also compacts and hands free pages back (as
 * under memory pressure): a plain gc() leaves the heap at the size the load grew it to.
 */
export async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  let end = process.memoryUsage();
  for (let i = 0; i < 10; i++) {
    gc!();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = process.memoryUsage();
    const settled = i > 0 && now.arrayBuffers >= end.arrayBuffers;
    end = now;
    if (settled) break;
  }
  gc!({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  await new Promise((resolve) => setTimeout(resolve, 20));
  return process.memoryUsage();
}

/** The warm-up mark: a GC under load, without letting the exchanges in flight run down. */
export function warmMark(): NodeJS.MemoryUsage {
  gc!();
  return process.memoryUsage();
}

/** What one process reports about itself once the load is over. */
export interface SideReport {
  handlesBefore: Handles;
  handlesAfter: Handles;
  rssBefore: number;
  rssPeak: number;
  warm: NodeJS.MemoryUsage;
  end: NodeJS.MemoryUsage;
}

/**
 * What this process reports once the load is over: its handles and memory, settled, against the
 * marks taken before the load (`before`, `handlesBefore`) and under it (`warm`, `rssPeak`).
 */
export async function sideReport(
  before: NodeJS.MemoryUsage,
  handlesBefore: Handles,
  rssPeak: number,
  warm: NodeJS.MemoryUsage | undefined,
): Promise<SideReport> {
  const handlesAfter = await settledHandles(handlesBefore);
  const end = await settledMemory();
  return { handlesBefore, handlesAfter, rssBefore: before.rss, rssPeak, warm: warm ?? end, end };
}

/** The failures of one side (`who`), by the bounds above. */
export function sideFailures(who: string, side: SideReport): string[] {
  const failures: string[] = [];
  if (!sameHandles(side.handlesBefore, side.handlesAfter)) {
    failures.push(`${who}: handles not back where they started after ${SETTLE_MS} ms`);
  }
  if (side.end.rss > side.warm.rss + WARM_RSS_BOUND) {
    failures.push(`${who}: RSS after is over warm-up + ${mib(WARM_RSS_BOUND)}`);
  }
  if (side.end.heapUsed > side.warm.heapUsed + LIVE_BOUND) {
    failures.push(`${who}: the live heap after is over warm-up + ${mib(LIVE_BOUND)}`);
  }
  if (side.end.arrayBuffers > side.warm.arrayBuffers + LIVE_BOUND) {
    failures.push(`${who}: buffers outside the heap after are over warm-up + ${mib(LIVE_BOUND)}`);
  }
  return failures;
}

/** The table rows of one side. */
export function sideRows(who: string, side: SideReport): [string, string][] {
  return [
    [`${who} RSS`, `${mib(side.rssBefore)} before, ${mib(side.rssPeak)} peak (every 250 ms)`],
    [
      `${who} RSS after GC`,
      `${mib(side.end.rss)} (bound: warm-up ${mib(side.warm.rss)} + ${mib(WARM_RSS_BOUND)})`,
    ],
    [
      `${who} heap live`,
      `${mib(side.warm.heapUsed)} warm-up, ${mib(side.end.heapUsed)} after (bound: +${mib(LIVE_BOUND)})`,
    ],
    [
      `${who} buffers`,
      `${mib(side.warm.arrayBuffers)} warm-up, ${mib(side.end.arrayBuffers)} after (bound: +${mib(LIVE_BOUND)})`,
    ],
    [
      `${who} handles`,
      `${showHandles(side.handlesBefore)} before, ${showHandles(side.handlesAfter)} after`,
    ],
  ];
}

/** `promise`, or a rejection naming `what` once `ms` have passed; the timer goes either way. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
