// Records/s and tokens/s over the job's elapsed time, drawn by uPlot in the theme's chart
// colours (read from VS Code's CSS variables, and read again when the theme changes).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ChartPoint } from '../protocol/dashboardMessages';
import { element, onThemeChange, setText, themeColor, titledSection } from '../shared/dom';
import { formatAxisNumber, formatClock, formatRate, noValue } from '../shared/format';
import { chartColumns } from './chartHistory';

const chartHeight = 200;
/** Tick steps for elapsed time that land on whole seconds, minutes and hours. */
const clockSteps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800];

interface ChartColors {
  records: string;
  tokens: string;
  axis: string;
  grid: string;
  font: string;
}

function readColors(): ChartColors {
  const fontFamily = themeColor('--vscode-font-family', 'sans-serif');
  return {
    records: themeColor('--vscode-charts-blue', '#3794ff'),
    tokens: themeColor('--vscode-charts-orange', '#d18616'),
    axis: themeColor('--vscode-charts-foreground', themeColor('--vscode-foreground', '#888888')),
    grid: themeColor('--vscode-charts-lines', 'rgba(128, 128, 128, 0.35)'),
    font: `11px ${fontFamily}`,
  };
}

function chartOptions(width: number, colors: ChartColors): uPlot.Options {
  const axis = (scale: string, side: 0 | 1 | 2 | 3, grid: boolean): uPlot.Axis => ({
    scale,
    side,
    stroke: colors.axis,
    font: colors.font,
    grid: { show: grid, stroke: colors.grid, width: 1 },
    ticks: { stroke: colors.grid, width: 1 },
    values: (_chart, splits) => splits.map((value) => (scale === 'x' ? formatClock(value) : formatAxisNumber(value))),
  });
  return {
    width,
    height: chartHeight,
    legend: { show: false },
    cursor: { show: false },
    scales: { x: { time: false }, records: { range: (_chart, _min, max) => [0, niceMax(max)] }, tokens: { range: (_chart, _min, max) => [0, niceMax(max)] } },
    series: [
      {},
      { label: 'Records/s', scale: 'records', stroke: colors.records, width: 2, points: { show: false } },
      { label: 'Tokens/s', scale: 'tokens', stroke: colors.tokens, width: 2, dash: [6, 3], points: { show: false } },
    ],
    axes: [{ ...axis('x', 2, false), incrs: clockSteps }, { ...axis('records', 3, true), size: 56 }, { ...axis('tokens', 1, false), size: 56 }],
  };
}

/** A little above the highest value, so the line does not run along the top edge. */
function niceMax(max: number | null): number {
  return max === null || !Number.isFinite(max) || max <= 0 ? 1 : max * 1.15;
}

export class RateChart {
  readonly root: HTMLElement;
  private readonly canvasHolder = element('div', { className: 'rate-chart' });
  private readonly recordsValue = element('span', { className: 'legend-value', text: noValue });
  private readonly tokensValue = element('span', { className: 'legend-value', text: noValue });
  private plot: uPlot | null = null;
  private history: readonly ChartPoint[] = [];

  constructor() {
    const legend = element('div', { className: 'chart-legend', attributes: { 'aria-live': 'off' } }, [
      legendItem('records', 'Records/s', this.recordsValue),
      legendItem('tokens', 'Tokens/s (dashed)', this.tokensValue),
    ]);
    this.canvasHolder.setAttribute('role', 'img');
    this.canvasHolder.setAttribute('aria-label', 'Records per second and tokens per second over the elapsed time');
    const { section } = titledSection('throughput', 'Throughput', 'throughput panel');
    section.append(legend, this.canvasHolder);
    this.root = section;
    new ResizeObserver(() => this.resize()).observe(this.canvasHolder);
    onThemeChange(() => this.rebuild());
  }

  /** `current` is the job's latest report; before one arrives the last sample stands in for it. */
  update(history: readonly ChartPoint[], current: ChartPoint | null): void {
    this.history = history;
    const latest = current ?? history.at(-1);
    setText(this.recordsValue, latest === undefined ? noValue : formatRate(latest.recordsPerSec));
    setText(this.tokensValue, latest === undefined ? noValue : formatRate(latest.tokensPerSec));
    if (this.plot === null) this.rebuild();
    else this.plot.setData(chartColumns(history));
  }

  private width(): number {
    return Math.max(200, Math.floor(this.canvasHolder.clientWidth));
  }

  private resize(): void {
    if (this.plot === null) return;
    const width = this.width();
    if (width !== this.plot.width) this.plot.setSize({ width, height: chartHeight });
  }

  /** Colours are fixed when uPlot is built, so a theme change builds it again. */
  private rebuild(): void {
    this.plot?.destroy();
    this.plot = new uPlot(chartOptions(this.width(), readColors()), chartColumns(this.history), this.canvasHolder);
  }
}

function legendItem(series: 'records' | 'tokens', label: string, value: HTMLElement): HTMLElement {
  return element('span', { className: 'legend-item' }, [
    element('span', { className: `legend-swatch ${series}`, attributes: { 'aria-hidden': 'true' } }),
    element('span', { text: `${label} ` }),
    value,
  ]);
}
