// The charts and the README table of a `pnpm bench` run, made from its results.json alone.
//   node scripts/bench-report.mjs [results.json]            rewrites report.svg beside it
//   node scripts/bench-report.mjs [results.json] --readme   also rewrites the README's table
// The SVG is written by hand (no charting dependency): one bar group per comparison, a bar for the
// ratio of each of ours to each peer or ceiling with a mark at the target, and the comparisons
// that form a series (scaling over the connection count) drawn as lines.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const README_START = '<!-- bench:start (written by scripts/bench-report.mjs --readme) -->';
const README_END = '<!-- bench:end -->';

const WIDTH = 980;
const LABEL = 430;
const BAR = 13;
const ROW = 17;
const COLOURS = ['#2b6cb0', '#c05621', '#2f855a', '#6b46c1', '#b83280', '#4a5568'];
const MET = '#2f855a';
const MISSED = '#c53030';
const NO_TARGET = '#718096';

const xml = (text) =>
  String(text).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
const figure = (value) => {
  if (!Number.isFinite(value)) return String(value);
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(1)} k`;
  if (value >= 100) return value.toFixed(0);
  return value.toFixed(value >= 10 ? 1 : 2);
};

/** Writes the SVG report of `results` (the object scripts/bench.mjs writes) to `file`. */
export function writeReport(results, file) {
  writeFileSync(file, svg(results));
}

function svg(results) {
  const parts = [];
  let y = 0;
  const text = (x, at, content, attrs = '') =>
    parts.push(`<text x="${x}" y="${at}"${attrs}>${xml(content)}</text>`);
  y += 24;
  text(
    12,
    y,
    'h1kit benchmarks: ratio of h1kit to each peer (paired rounds, median)',
    ' class="h1"',
  );
  y += 18;
  text(
    12,
    y,
    `${results.node.version} on ${results.machine.cores} × ${results.machine.cpu}, ${results.date.slice(0, 10)}, commit ${results.commit ?? 'unknown'}${results.quick ? ', --quick' : ''}`,
    ' class="small"',
  );
  y += 14;
  text(
    12,
    y,
    'Bars: green meets its target (the black mark), red misses it, grey has none. Where lower is better (CPU, latency, memory) a ratio under 1 is the good side.',
    ' class="small"',
  );
  y += 12;

  const bars = results.comparisons.filter((c) => !c.series && c.ratios.length > 0);
  const limited = results.comparisons.filter((c) => !c.series && c.limits.length > 0);
  const maxRatio = Math.max(
    2,
    ...bars.flatMap((c) => c.ratios.map((r) => r.ratio).filter(Number.isFinite)),
    ...bars.flatMap((c) => c.targets.map((t) => t.ratio)),
  );
  const scaleMax = Math.min(Math.ceil(maxRatio * 2) / 2, 12);
  const plotLeft = LABEL + 12;
  const plotWidth = WIDTH - plotLeft - 70;
  const xOf = (ratio) => plotLeft + (Math.min(ratio, scaleMax) / scaleMax) * plotWidth;

  for (const c of bars) {
    y += 22;
    const direction =
      c.better === 'lower' && !c.title.includes('lower is better') ? ' (lower is better)' : '';
    text(12, y, `${c.benchmark}: ${c.title}${direction}`.slice(0, 150), ' class="group"');
    y += 6;
    const top = y;
    for (const r of c.ratios) {
      y += ROW;
      const target = c.targets.find((t) => t.ours === r.ours && t.peer === r.peer);
      const colour = target === undefined ? NO_TARGET : target.met ? MET : MISSED;
      text(LABEL, y - 3, `${r.ours} vs ${r.peer}`.slice(0, 70), ' class="label" text-anchor="end"');
      const width = Math.max(1, xOf(r.ratio) - plotLeft);
      parts.push(
        `<rect x="${plotLeft}" y="${y - BAR}" width="${width.toFixed(1)}" height="${BAR}" fill="${colour}"><title>${xml(`${r.ratio.toFixed(3)}x (IQR ${r.q1?.toFixed(2)}-${r.q3?.toFixed(2)}, ${r.rounds} rounds)`)}</title></rect>`,
      );
      text(plotLeft + width + 4, y - 3, `${r.ratio.toFixed(2)}x`, ' class="label"');
      if (target !== undefined) {
        const x = xOf(target.ratio).toFixed(1);
        parts.push(
          `<line x1="${x}" x2="${x}" y1="${y - BAR - 2}" y2="${y + 2}" stroke="#000" stroke-width="2"/>`,
        );
      }
    }
    const one = xOf(1).toFixed(1);
    parts.push(
      `<line x1="${one}" x2="${one}" y1="${top}" y2="${y + 3}" stroke="#a0aec0" stroke-dasharray="3 3"/>`,
    );
  }
  // The ratio axis under the bars.
  y += 16;
  for (let tick = 0; tick <= scaleMax; tick += scaleMax > 6 ? 2 : scaleMax > 3 ? 1 : 0.5) {
    const x = xOf(tick).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${y - 6}" y2="${y}" stroke="#4a5568"/>`);
    text(x, y + 12, `${tick}x`, ' class="small" text-anchor="middle"');
  }
  y += 16;

  // Figures held to an absolute limit (memory), as bars of the figure against the limit.
  for (const c of limited) {
    y += 22;
    text(
      12,
      y,
      `${c.benchmark}: ${c.title} (${c.unit}, lower is better)`.slice(0, 150),
      ' class="group"',
    );
    y += 6;
    const most = Math.max(...c.contenders.map((x) => x.median), ...c.limits.map((l) => l.max ?? 0));
    for (const contender of c.contenders) {
      y += ROW;
      const limit = c.limits.find((l) => l.ours === contender.name);
      const colour = limit === undefined ? NO_TARGET : limit.met ? MET : MISSED;
      text(LABEL, y - 3, contender.name, ' class="label" text-anchor="end"');
      const width = Math.max(1, (contender.median / most) * plotWidth);
      parts.push(
        `<rect x="${plotLeft}" y="${y - BAR}" width="${width.toFixed(1)}" height="${BAR}" fill="${colour}"/>`,
      );
      text(plotLeft + width + 4, y - 3, `${figure(contender.median)} ${c.unit}`, ' class="label"');
      if (limit?.max !== undefined) {
        const x = (plotLeft + (limit.max / most) * plotWidth).toFixed(1);
        parts.push(
          `<line x1="${x}" x2="${x}" y1="${y - BAR - 2}" y2="${y + 2}" stroke="#000" stroke-width="2"/>`,
        );
      }
    }
  }

  // Series: one line chart each, x the series' variable on an even (log-like) spacing.
  const series = new Map();
  for (const c of results.comparisons.filter((x) => x.series)) {
    if (!series.has(c.series.name)) series.set(c.series.name, []);
    series.get(c.series.name).push(c);
  }
  for (const [name, points] of series) {
    points.sort((a, b) => a.series.x - b.series.x);
    y += 34;
    const lower = points[0].better === 'lower' ? ', lower is better' : '';
    text(12, y, `${points[0].benchmark}: ${name} (${points[0].unit}${lower})`, ' class="group"');
    const chartTop = y + 14;
    const chartHeight = 180;
    const left = 90;
    const right = WIDTH - 260;
    const names = [...new Set(points.flatMap((p) => p.contenders.map((c) => c.name)))];
    const highest = Math.max(...points.flatMap((p) => p.contenders.map((c) => c.median)));
    const yOf = (value) => chartTop + chartHeight - (value / (highest * 1.08)) * chartHeight;
    const xAt = (i) =>
      left + (points.length === 1 ? 0 : (i / (points.length - 1)) * (right - left));
    parts.push(
      `<rect x="${left}" y="${chartTop}" width="${right - left}" height="${chartHeight}" fill="none" stroke="#cbd5e0"/>`,
    );
    for (let step = 0; step <= 4; step++) {
      const value = (highest * 1.08 * step) / 4;
      const at = yOf(value).toFixed(1);
      parts.push(`<line x1="${left - 4}" x2="${left}" y1="${at}" y2="${at}" stroke="#4a5568"/>`);
      text(left - 6, Number(at) + 4, figure(value), ' class="small" text-anchor="end"');
    }
    points.forEach((p, i) => {
      text(
        xAt(i),
        chartTop + chartHeight + 14,
        String(p.series.x),
        ' class="small" text-anchor="middle"',
      );
    });
    text(
      (left + right) / 2,
      chartTop + chartHeight + 28,
      points[0].series.xLabel,
      ' class="small" text-anchor="middle"',
    );
    names.forEach((contender, n) => {
      const colour = COLOURS[n % COLOURS.length];
      const coords = points
        .map((p, i) => {
          const found = p.contenders.find((c) => c.name === contender);
          return found ? `${xAt(i).toFixed(1)},${yOf(found.median).toFixed(1)}` : undefined;
        })
        .filter(Boolean);
      parts.push(
        `<polyline points="${coords.join(' ')}" fill="none" stroke="${colour}" stroke-width="2.5"/>`,
      );
      for (const point of coords) {
        const [cx, cy] = point.split(',');
        parts.push(`<circle cx="${cx}" cy="${cy}" r="3.5" fill="${colour}"/>`);
      }
      const legendY = chartTop + 16 + n * 18;
      parts.push(
        `<rect x="${right + 16}" y="${legendY - 10}" width="14" height="4" fill="${colour}"/>`,
      );
      text(right + 36, legendY - 4, contender, ' class="label"');
    });
    y = chartTop + chartHeight + 34;
  }
  y += 16;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="Helvetica, Arial, sans-serif">`,
    '<title>h1kit benchmarks: the ratio of h1kit to each peer and ceiling, with its target</title>',
    '<style>.h1{font-size:17px;font-weight:bold}.group{font-size:12.5px;font-weight:bold;fill:#1a202c}.label{font-size:11.5px;fill:#1a202c}.small{font-size:10.5px;fill:#4a5568}</style>',
    `<rect width="${WIDTH}" height="${y}" fill="#fff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

/**
 * The README's performance table: every target of the run, with the figures it compares, so that
 * the README quotes the committed run and nothing else.
 */
export function readmeTable(results, resultsPath) {
  const lines = [
    README_START,
    `Measured by \`pnpm bench\` on ${results.machine.cores} × ${results.machine.cpu} (${results.machine.memoryGiB} GiB), Node ${results.node.version}, ${results.date.slice(0, 10)}, commit ${results.commit ?? 'unknown'}; every figure and its spread is in [${resultsPath}](${resultsPath}). Each ratio is the median of paired rounds (h1kit and the peer measured a moment apart).`,
    '',
    '| benchmark | h1kit | peer | h1kit / peer | target | |',
    '|---|---|---|---|---|---|',
  ];
  for (const c of results.comparisons) {
    for (const t of c.targets) {
      const ours = c.contenders.find((x) => x.name === t.ours);
      const peer = c.contenders.find((x) => x.name === t.peer);
      lines.push(
        `| ${c.title} | ${t.ours}: ${figure(ours.median)} ${c.unit} | ${t.peer}: ${figure(peer.median)} | ${t.value.toFixed(2)}x | ${t.kind} ${t.ratio}x | ${t.met ? 'met' : 'missed'} |`,
      );
    }
    for (const l of c.limits) {
      const bound = l.max === undefined ? `at least ${l.min}` : `at most ${l.max}`;
      lines.push(
        `| ${c.title} | ${l.ours}: ${figure(l.value)} ${c.unit} | | | ${bound} ${c.unit} | ${l.met ? 'met' : 'missed'} |`,
      );
    }
  }
  lines.push(README_END);
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const path = args.find((arg) => !arg.startsWith('--')) ?? join(root, 'bench/results.json');
  const results = JSON.parse(readFileSync(path, 'utf8'));
  const svgFile = join(dirname(path), 'report.svg');
  writeReport(results, svgFile);
  console.log(`wrote ${relative(root, svgFile)}`);
  if (args.includes('--readme')) {
    const readme = join(root, 'README.md');
    const text = readFileSync(readme, 'utf8');
    const start = text.indexOf(README_START);
    const end = text.indexOf(README_END);
    if (start === -1 || end === -1) throw new Error(`README.md lacks the ${README_START} markers`);
    const table = readmeTable(results, relative(root, path));
    writeFileSync(readme, text.slice(0, start) + table + text.slice(end + README_END.length));
    // Biome lays out Markdown tables in aligned columns; `pnpm lint` checks README.md for it.
    execFileSync(join(root, 'node_modules/.bin/biome'), ['format', '--write', readme], {
      stdio: 'ignore',
    });
    console.log('rewrote the performance table in README.md');
  }
}
