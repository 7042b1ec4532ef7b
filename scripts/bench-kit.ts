// The one way every h1kit benchmark measures and reports: tinybench runs each contender in the
// same process and run, and the report prints the peer's figure, ours, and their ratio. When
// scripts/bench.mjs runs a benchmark it names a results file (H1_BENCH_RESULTS): every report is
// then also appended to it as one JSON line, from which bench/results.json and the charts are made.
import { appendFileSync } from 'node:fs';
import { Bench } from 'tinybench';

export interface Contender {
  name: string;
  /**
   * 'peer' for what a user would pick instead, 'ceiling' for what no server can beat here (a raw
   * socket doing the same work), 'ours' for h1kit. Ours are compared with every peer and ceiling.
   */
  role: 'peer' | 'ceiling' | 'ours';
  fn: () => unknown;
}

/**
 * A target on the ratio ours/peer: at least `ratio` where higher is better, at most `ratio` where
 * lower is better (CPU, latency). Against one peer (or every one), for one of ours (or every one).
 */
export interface Target {
  ratio: number;
  peer?: string;
  ours?: string;
}

/** A target on a figure itself rather than a ratio, e.g. peak memory under 64 MiB. */
export interface Limit {
  /** The figure must stay at or below `max` (or at or above `min`), in the comparison's unit. */
  max?: number;
  min?: number;
  ours?: string;
}

export interface Comparison {
  title: string;
  /** Unit of the printed figure, e.g. 'heads/s' or 'MB/s'. */
  unit: string;
  /** Work done by one call of a contender, in `unit` seconds (bytes/1e6 for MB/s). Default 1. */
  perOp?: number;
  contenders: Contender[];
  /** 'lower' for costs (CPU, latency, memory): a target is then a ceiling on the ratio. */
  better?: 'higher' | 'lower';
  /** The ratios ours/peer the project aims for (see `Target`). */
  targets?: Target[];
  /** Bounds on our figures themselves. */
  limits?: Limit[];
  /**
   * For charts: comparisons that share a `series` are one measurement at several values of `x`
   * (e.g. the connection count), drawn as lines rather than bars.
   */
  series?: { name: string; x: number; xLabel: string };
  /**
   * Total tinybench time per contender in ms, split over the rounds (default 1500); scaled by
   * H1_BENCH_TIME_SCALE, which `pnpm bench --quick` sets to 0.15.
   */
  time?: number;
  /** Interleaved rounds (default 7, 3 under --quick); the printed figure is each contender's median. */
  rounds?: number;
  iterations?: number;
  warmup?: boolean;
  /** Iterations run as warmup before the first round (default 16, tinybench's own). */
  warmupIterations?: number;
  /** Warm up in every round, not only the first (for contenders made anew each round). */
  warmupEveryRound?: boolean;
  /**
   * Runs before each round, e.g. to start fresh server processes, so that one process's luck
   * (its heap layout, the JIT's choices, the core it lands on) does not decide every round.
   */
  beforeRound?: (round: number) => Promise<void> | void;
  afterRound?: (round: number) => Promise<void> | void;
}

const timeScale = Number(process.env.H1_BENCH_TIME_SCALE ?? 1);

/**
 * Set by `pnpm bench --quick`: a look rather than a measurement to quote. Benchmarks cut their
 * volumes, rounds and warm-ups with it so that the whole run takes well under two minutes.
 */
export const quick = process.env.H1_BENCH_QUICK === '1';

/**
 * The contenders `H1_BENCH_ONLY` picks, in their own order: it lists parts of names separated by
 * `|` (names contain commas), and a contender is picked when its name contains any of them.
 * Unset, every contender runs.
 */
export function picked<T extends string>(names: readonly T[]): T[] {
  const parts = process.env.H1_BENCH_ONLY?.split('|').filter((part) => part !== '');
  if (!parts?.length) return [...names];
  return names.filter((name) => parts.some((part) => name.includes(part)));
}

export interface Figures {
  [name: string]: number;
}

/** The spread of the per-round ratios behind a paired ratio: its quartiles and round count. */
export interface Spread {
  [pair: string]: { q1: number; q3: number; rounds: number };
}

/**
 * Measures every contender in `rounds` short tinybench runs, alternating their order, and
 * reports medians: on a shared machine whose speed drifts by 2x within a minute (seen here),
 * interleaving is what keeps a ratio between two contenders meaningful. Ratios are the median of
 * the per-round ratios, each pairing figures measured a moment apart.
 */
export async function compare(spec: Comparison): Promise<Figures> {
  const rounds = quick ? Math.min(spec.rounds ?? 3, 3) : (spec.rounds ?? 7);
  // tinybench tells an async task from a sync one by calling a plain function once and not
  // awaiting what it returns: a 256 MiB echo started that way runs on, unmeasured, beside the
  // contenders timed next. Calling each once here, awaited, settles the question outside any
  // measurement.
  const isAsync = new Map<string, boolean>();
  const samples = new Map<string, number[]>(spec.contenders.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    await spec.beforeRound?.(round);
    if (round === 0) {
      for (const c of spec.contenders) {
        const result = c.fn();
        const promise = isPromiseLike(result);
        if (promise) await result;
        isAsync.set(c.name, promise);
      }
    }
    const bench = new Bench({
      time: ((spec.time ?? 1500) * timeScale) / rounds,
      iterations: spec.iterations ?? 5,
      warmup: (spec.warmup ?? true) && (round === 0 || spec.warmupEveryRound === true),
      warmupTime: quick ? 50 : 300,
      warmupIterations: quick
        ? Math.min(spec.warmupIterations ?? 4, 4)
        : (spec.warmupIterations ?? 16),
      throws: true,
    });
    const order = round % 2 === 0 ? spec.contenders : [...spec.contenders].reverse();
    for (const c of order) bench.add(c.name, c.fn, { async: isAsync.get(c.name)! });
    await bench.run();
    for (const task of bench.tasks) {
      const result = task.result;
      if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}`);
      samples.get(task.name)!.push(result.throughput.mean * (spec.perOp ?? 1));
    }
    await spec.afterRound?.(round);
  }
  return summarize(spec, samples);
}

/**
 * Reports figures measured in paired rounds (each contender once a round, a moment apart):
 * each contender's median, and for every pair of ours and a peer the median of the per-round
 * ratios with their interquartile range. For `compare`, and for load loops of a bench's own.
 */
export function summarize(spec: Described, samples: ReadonlyMap<string, number[]>): Figures {
  const figures: Figures = {};
  for (const [name, values] of samples) figures[name] = median(values);
  const ratios: Figures = {};
  const spread: Spread = {};
  for (const ours of spec.contenders.filter((c) => c.role === 'ours')) {
    for (const peer of spec.contenders.filter((c) => c.role !== 'ours')) {
      const a = samples.get(ours.name)!;
      const b = samples.get(peer.name)!;
      const perRound = a.map((value, i) => value / b[i]!);
      const pair = `${ours.name}/${peer.name}`;
      ratios[pair] = median(perRound);
      spread[pair] = {
        q1: quantile(perRound, 0.25),
        q3: quantile(perRound, 0.75),
        rounds: perRound.length,
      };
    }
  }
  report(spec, figures, ratios, spread);
  record(spec, samples, figures, ratios, spread);
  return figures;
}

/** A comparison as reported: its contenders without the functions that measured them. */
export type Described = Omit<Comparison, 'contenders'> & {
  contenders: Array<Omit<Contender, 'fn'>>;
};

/** Whether `value` meets `target`'s ratio, in the comparison's direction. */
function meets(spec: Described, value: number, ratio: number): boolean {
  return spec.better === 'lower' ? value <= ratio : value >= ratio;
}

/** Each target expanded to the pairs of ours and peer it applies to. */
function targetPairs(spec: Described): Array<{ ours: string; peer: string; ratio: number }> {
  const pairs: Array<{ ours: string; peer: string; ratio: number }> = [];
  for (const target of spec.targets ?? []) {
    for (const c of spec.contenders.filter((x) => x.role === 'ours')) {
      if (target.ours !== undefined && c.name !== target.ours) continue;
      for (const p of spec.contenders.filter((x) => x.role !== 'ours')) {
        if (target.peer !== undefined && p.name !== target.peer) continue;
        pairs.push({ ours: c.name, peer: p.name, ratio: target.ratio });
      }
    }
  }
  return pairs;
}

interface LimitCheck {
  ours: string;
  max?: number;
  min?: number;
  value: number;
  met: boolean;
}

/** Each limit expanded to the contenders of ours it applies to. */
function limitChecks(spec: Described, figures: Figures): LimitCheck[] {
  const checks: LimitCheck[] = [];
  for (const limit of spec.limits ?? []) {
    for (const c of spec.contenders.filter((x) => x.role === 'ours')) {
      if (limit.ours !== undefined && c.name !== limit.ours) continue;
      const value = figures[c.name]!;
      const met =
        (limit.max === undefined || value <= limit.max) &&
        (limit.min === undefined || value >= limit.min);
      checks.push({ ours: c.name, max: limit.max, min: limit.min, value, met });
    }
  }
  return checks;
}

/**
 * Appends the comparison, with every sample, to the results file scripts/bench.mjs named, if it
 * named one: one JSON line per comparison, tagged with the benchmark file it came from.
 */
function record(
  spec: Described,
  samples: ReadonlyMap<string, number[]>,
  figures: Figures,
  ratios: Figures,
  spread: Spread,
): void {
  const file = process.env.H1_BENCH_RESULTS;
  if (!file) return;
  const entry = {
    benchmark: process.env.H1_BENCH_NAME ?? 'unnamed',
    title: spec.title,
    unit: spec.unit,
    better: spec.better ?? 'higher',
    series: spec.series,
    contenders: spec.contenders.map((c) => {
      const values = samples.get(c.name)!;
      return {
        name: c.name,
        role: c.role,
        median: figures[c.name],
        q1: quantile(values, 0.25),
        q3: quantile(values, 0.75),
        samples: values,
      };
    }),
    ratios: spec.contenders
      .filter((c) => c.role === 'ours')
      .flatMap((c) =>
        spec.contenders
          .filter((p) => p.role !== 'ours')
          .map((p) => {
            const pair = `${c.name}/${p.name}`;
            return { ours: c.name, peer: p.name, ratio: ratios[pair], ...spread[pair] };
          }),
      ),
    targets: targetPairs(spec).map((t) => {
      const value = ratios[`${t.ours}/${t.peer}`]!;
      const kind = spec.better === 'lower' ? 'at most' : 'at least';
      return { ...t, kind, value, met: meets(spec, value, t.ratio) };
    }),
    limits: limitChecks(spec, figures),
  };
  appendFileSync(file, `${JSON.stringify(entry)}\n`);
}

/** The q-quantile of `values`, interpolated between the two nearest ranks. */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (at - low);
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `fn` `times` times: gives fast operations a batch large enough to time. */
export function batch(times: number, fn: () => unknown): () => void {
  return () => {
    for (let i = 0; i < times; i++) fn();
  };
}

/**
 * Prints the figures, the paired ratios with their spread, and the verdict on each target and
 * limit.
 */
function report(spec: Described, figures: Figures, ratios: Figures, spread: Spread): void {
  const ratio = (ours: string, peer: string): number => ratios[`${ours}/${peer}`]!;
  const width = Math.max(...spec.contenders.map((c) => c.name.length)) + 2;
  console.log(`\n== ${spec.title} ==`);
  const peers = spec.contenders.filter((c) => c.role !== 'ours');
  for (const c of spec.contenders) {
    const value = figures[c.name]!;
    let line = `  ${c.role.padEnd(7)}  ${c.name.padEnd(width)}${formatFigure(value).padStart(12)} ${spec.unit}`;
    if (c.role === 'ours') {
      const ratios = peers.map((p) => {
        const s = spread[`${c.name}/${p.name}`]!;
        return `${ratio(c.name, p.name).toFixed(2)}x ${p.name} (IQR ${s.q1.toFixed(2)}-${s.q3.toFixed(2)})`;
      });
      line += `   ${ratios.join(', ')}`;
    }
    console.log(line);
  }
  const bound = spec.better === 'lower' ? 'at most' : 'at least';
  for (const t of targetPairs(spec)) {
    const r = ratio(t.ours, t.peer);
    const verdict = meets(spec, r, t.ratio) ? 'met' : 'MISSED';
    const rounds = spread[`${t.ours}/${t.peer}`]!.rounds;
    console.log(
      `  target ${bound} ${t.ratio}x ${t.peer} for ${t.ours}: ${r.toFixed(2)}x (median of ${rounds} paired rounds), ${verdict}`,
    );
  }
  for (const check of limitChecks(spec, figures)) {
    const limit = [
      check.max === undefined ? '' : `at most ${check.max}`,
      check.min === undefined ? '' : `at least ${check.min}`,
    ]
      .filter(Boolean)
      .join(' and ');
    console.log(
      `  target ${limit} ${spec.unit} for ${check.ours}: ${formatFigure(check.value)} ${spec.unit}, ${check.met ? 'met' : 'MISSED'}`,
    );
  }
}

function formatFigure(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(1)} k`;
  return value.toFixed(1);
}
