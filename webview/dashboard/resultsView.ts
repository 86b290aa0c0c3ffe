// A page of recent results: key, status, one column per output field, the error; with a
// pager that asks the extension for the page before or after.
import type { ResultRowMessage, ResultsPage } from '../protocol/dashboardMessages';
import { button, element, setText, titledSection } from '../shared/dom';
import { formatCount, shortText, valueText } from '../shared/format';
import { KeyedRows } from '../shared/keyedRows';

const maxOutputColumns = 6;
const cellLength = 80;

/** The output fields the page's answers have, in the order they first appear. */
export function outputColumns(rows: readonly ResultRowMessage[], max = maxOutputColumns): string[] {
  const names = new Set<string>();
  for (const row of rows) for (const name of Object.keys(row.output ?? {})) names.add(name);
  return [...names].slice(0, max);
}

/** `21–40 of 1,234`, or `none yet`. */
export function pageText(page: ResultsPage): string {
  if (page.rows.length === 0) return page.total === 0 ? 'No results yet' : `Nothing at ${formatCount(page.offset + 1)} of ${formatCount(page.total)}`;
  return `${formatCount(page.offset + 1)}–${formatCount(page.offset + page.rows.length)} of ${formatCount(page.total)}`;
}

export class ResultsView {
  readonly root: HTMLElement;
  private readonly head = element('thead');
  private readonly body = element('tbody');
  private readonly status = element('span', { className: 'pager-text', attributes: { 'aria-live': 'polite' } });
  private readonly previous = button('Previous page');
  private readonly next = button('Next page');
  private columns: string[] = [];
  private rows: KeyedRows<ResultRowMessage>;
  private page: ResultsPage | null = null;

  constructor(requestPage: (offset: number, limit: number) => void) {
    this.rows = this.keyedRows();
    this.previous.disabled = true;
    this.next.disabled = true;
    this.previous.addEventListener('click', () => {
      if (this.page !== null) requestPage(Math.max(0, this.page.offset - this.page.limit), this.page.limit);
    });
    this.next.addEventListener('click', () => {
      if (this.page !== null) requestPage(this.page.offset + this.page.limit, this.page.limit);
    });
    const pager = element('div', { className: 'pager' }, [this.status, this.previous, this.next]);
    const table = element('table', { className: 'results-table' }, [element('caption', { className: 'visually-hidden', text: 'Recent results' }), this.head, this.body]);
    const { section } = titledSection('results', 'Recent results', 'results panel');
    section.append(pager, element('div', { className: 'table-scroll' }, [table]));
    this.root = section;
    this.renderHead();
  }

  update(page: ResultsPage): void {
    this.page = page;
    const columns = outputColumns(page.rows);
    if (columns.join('\n') !== this.columns.join('\n')) {
      // Other output fields make other cells: only then are the rows built again.
      this.columns = columns;
      this.rows.clear();
      this.rows = this.keyedRows();
      this.renderHead();
    }
    this.rows.render(page.rows);
    setText(this.status, pageText(page));
    this.previous.disabled = page.offset === 0;
    this.next.disabled = page.offset + page.rows.length >= page.total;
  }

  private keyedRows(): KeyedRows<ResultRowMessage> {
    return new KeyedRows(this.body, (row) => row.key, () => this.createRow(), (row, result) => this.updateRow(row, result));
  }

  private renderHead(): void {
    const titles = ['Key', 'Status', ...this.columns, 'Error'];
    this.head.replaceChildren(element('tr', {}, titles.map((title) => element('th', { text: title, attributes: { scope: 'col' } }))));
  }

  private createRow(): HTMLTableRowElement {
    const cells = [element('th', { className: 'key', attributes: { scope: 'row' } }), element('td', { className: 'status' })];
    for (let index = 0; index < this.columns.length; index += 1) cells.push(element('td', { className: 'output' }));
    cells.push(element('td', { className: 'error' }));
    return element('tr', {}, cells);
  }

  private updateRow(row: HTMLTableRowElement, result: ResultRowMessage): void {
    const cells = Array.from(row.cells);
    setText(cells[0], result.key);
    setText(cells[1], result.status);
    cells[1].dataset.status = result.status;
    this.columns.forEach((name, index) => {
      const value = result.output?.[name];
      setCellText(cells[2 + index], value === undefined ? '' : valueText(value));
    });
    const error = result.error === null ? '' : result.errorClass === null ? result.error : `${result.errorClass}: ${result.error}`;
    setCellText(cells[2 + this.columns.length], error);
  }
}

function setCellText(cell: HTMLElement, text: string): void {
  const short = shortText(text, cellLength);
  setText(cell, short.text);
  if (short.truncated) cell.title = text;
  else cell.removeAttribute('title');
}
