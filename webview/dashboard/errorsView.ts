// Errors grouped by class, most frequent first, each with a sample record and message.
import type { ErrorClassCountMessage } from '../protocol/dashboardMessages';
import { element, setText, titledSection } from '../shared/dom';
import { formatCount, shortText } from '../shared/format';
import { KeyedRows } from '../shared/keyedRows';

const messageLength = 240;

/** `14:03:12` in the viewer's time zone; the raw text if it is not a date. */
function timeOfDay(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString([], { hour12: false });
}

export class ErrorsView {
  readonly root: HTMLElement;
  private readonly total = element('span', { className: 'count-badge' });
  private readonly empty = element('p', { className: 'empty', text: 'No errors so far.' });
  private readonly table: HTMLTableElement;
  private readonly rows: KeyedRows<ErrorClassCountMessage>;

  constructor() {
    const body = element('tbody');
    const head = element('thead', {}, [
      element('tr', {}, ['Class', 'Count', 'Sample record', 'Message', 'Last seen'].map((title) => element('th', { text: title, attributes: { scope: 'col' } }))),
    ]);
    this.table = element('table', { className: 'errors-table' }, [element('caption', { className: 'visually-hidden', text: 'Errors by class' }), head, body]);
    this.rows = new KeyedRows(body, (error) => error.errorClass, createRow, updateRow);
    const { section, heading } = titledSection('errors', 'Errors by class', 'errors panel');
    heading.append(' ', this.total);
    this.table.hidden = true;
    section.append(this.empty, this.table);
    this.root = section;
  }

  update(errors: readonly ErrorClassCountMessage[]): void {
    const sorted = [...errors].sort((a, b) => b.count - a.count || a.errorClass.localeCompare(b.errorClass));
    this.rows.render(sorted);
    const count = errors.reduce((sum, error) => sum + error.count, 0);
    setText(this.total, count === 0 ? '' : formatCount(count));
    this.empty.hidden = errors.length > 0;
    this.table.hidden = errors.length === 0;
  }
}

function createRow(): HTMLTableRowElement {
  return element('tr', {}, [
    element('th', { className: 'error-class', attributes: { scope: 'row' } }),
    element('td', { className: 'number' }),
    element('td', { className: 'key' }),
    element('td', { className: 'message' }),
    element('td', { className: 'time' }),
  ]);
}

function updateRow(row: HTMLTableRowElement, error: ErrorClassCountMessage): void {
  const [errorClass, count, key, message, lastAt] = row.cells;
  setText(errorClass, error.errorClass);
  setText(count, formatCount(error.count));
  setText(key, error.sampleKey ?? '—');
  const short = shortText(error.sampleMessage, messageLength);
  setText(message, short.text);
  if (short.truncated) message.title = error.sampleMessage;
  else message.removeAttribute('title');
  setText(lastAt, timeOfDay(error.lastAt));
}
