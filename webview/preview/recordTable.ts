// The previewed records: line, key, the fields, the prompt each renders to, its tokens and
// estimated cost, and (once a run answers) the answer. Long cells open in full on click.
import type { PreviewRecord } from '../../daemon/protocol/estimate';
import type { RecordAnswer } from '../protocol/previewMessages';
import { button, element } from '../shared/dom';
import { formatCount, formatUsd, noValue, outputText, shortText, valueText } from '../shared/format';
import { type ShownTotals, shownTotals } from './previewSummary';

const fieldLength = 48;
const promptLength = 120;
const answerLength = 80;
const shortValueLength = 16;

type OpenFullText = (title: string, text: string) => void;

export class RecordTable {
  readonly root: HTMLElement;
  private readonly table = element('table', { className: 'records-table' });
  private readonly head = element('thead');
  private readonly body = element('tbody');
  private readonly foot = element('tfoot');
  /** Answer cells by record key: a key may appear more than once in raw data. */
  private answerCells = new Map<string, HTMLTableCellElement[]>();

  constructor(private readonly openFullText: OpenFullText) {
    this.table.append(element('caption', { className: 'visually-hidden', text: 'Previewed records' }), this.head, this.body, this.foot);
    this.root = element('div', { className: 'table-scroll' }, [this.table]);
  }

  /** A new preview replaces the rows (it is sent rarely, not per tick) and forgets old answers. */
  show(records: readonly PreviewRecord[], fields: readonly string[]): void {
    const titles = ['Line', 'Key', ...fields, 'Prompt', 'Tokens', 'Est. cost', 'Answer'];
    this.head.replaceChildren(
      element(
        'tr',
        {},
        titles.map((title, index) => element('th', { text: title, attributes: { scope: 'col' }, className: columnClass(index, titles.length) })),
      ),
    );
    this.answerCells = new Map();
    this.table.classList.remove('has-answers');
    this.body.replaceChildren(...records.map((record) => this.row(record, fields)));
    this.foot.replaceChildren(this.totalsRow(shownTotals(records), fields.length));
  }

  showAnswers(answers: readonly RecordAnswer[]): void {
    for (const answer of answers) {
      for (const cell of this.answerCells.get(answer.key) ?? []) {
        const text = answer.output === null ? (answer.error ?? 'failed') : outputText(answer.output);
        cell.replaceChildren(this.cellContent(text, answerLength, `Answer for record ${answer.key}`));
        cell.classList.toggle('error-text', answer.output === null);
        cell.dataset.answered = answer.output === null ? 'failed' : 'done';
      }
    }
    if (answers.length > 0) this.table.classList.add('has-answers');
  }

  private row(record: PreviewRecord, fields: readonly string[]): HTMLTableRowElement {
    const cells: HTMLTableCellElement[] = [
      element('td', { className: 'number line', text: record.line === null ? noValue : String(record.line) }),
      element('th', { className: 'key', text: record.key, attributes: { scope: 'row' } }),
    ];
    for (const name of fields) {
      const value = record.fields[name];
      const cell = element('td', { className: 'field' });
      const text = value === undefined ? '' : valueText(value);
      // Short values (ids, codes like a-100) read badly when the table squeezes them onto two lines.
      cell.classList.toggle('nowrap', text.length <= shortValueLength);
      if (value !== undefined) cell.append(this.cellContent(text, fieldLength, `Record ${record.key}: ${name}`));
      cells.push(cell);
    }
    const prompt = element('td', { className: 'prompt mono' });
    if (record.input !== null) prompt.append(this.cellContent(record.input, promptLength, `Prompt for record ${record.key}`));
    else {
      prompt.classList.add('error-text');
      prompt.append(this.cellContent(record.error ?? 'Cannot be rendered.', promptLength, `Error in record ${record.key}`));
    }
    cells.push(
      prompt,
      element('td', { className: 'number tokens', text: record.input === null ? noValue : formatCount(record.inputTokens) }),
      element('td', { className: 'number cost', text: formatUsd(record.estimatedCostUsd) }),
    );
    const answer = element('td', { className: 'answer' });
    cells.push(answer);
    this.answerCells.set(record.key, [...(this.answerCells.get(record.key) ?? []), answer]);
    const row = element('tr', {}, cells);
    row.classList.toggle('has-error', record.error !== null);
    return row;
  }

  private totalsRow(totals: ShownTotals, fieldCount: number): HTMLTableRowElement {
    return element('tr', { className: 'totals' }, [
      element('th', { text: `Total: ${formatCount(totals.records)} records`, attributes: { scope: 'row', colspan: String(3 + fieldCount) } }),
      element('td', { className: 'number tokens', text: formatCount(totals.inputTokens) }),
      element('td', { className: 'number cost', text: formatUsd(totals.estimatedCostUsd) }),
      element('td', { className: 'answer' }),
    ]);
  }

  private cellContent(text: string, max: number, title: string): Node {
    const short = shortText(text, max);
    if (!short.truncated) return document.createTextNode(text);
    const more = button(short.text, 'cell-more');
    more.setAttribute('aria-label', `${short.text} (show all of ${title})`);
    more.addEventListener('click', () => this.openFullText(title, text));
    return more;
  }
}

/** The last column is the answer, which stays hidden until answers come. */
function columnClass(index: number, count: number): string {
  if (index === count - 1) return 'answer';
  return index === 0 || index >= count - 3 ? 'number' : '';
}
