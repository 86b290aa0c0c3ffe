// Lines of the selection or file that could not be read, each named by its line.
import type { ParseError } from '../protocol/previewMessages';
import { element, setText, titledSection } from '../shared/dom';
import { formatCount } from '../shared/format';

export class ParseErrorList {
  readonly root: HTMLElement;
  private readonly count = element('span', { className: 'count-badge' });
  private readonly list = element('ul', { className: 'parse-errors' });

  constructor() {
    const { section, heading } = titledSection('parse-errors', 'Lines that could not be read', 'panel parse-error-panel');
    heading.append(' ', this.count);
    section.append(this.list);
    section.hidden = true;
    this.root = section;
  }

  update(errors: readonly ParseError[]): void {
    const sorted = [...errors].sort((a, b) => a.line - b.line);
    this.list.replaceChildren(
      ...sorted.map((error) =>
        element('li', {}, [element('span', { className: 'line', text: `Line ${error.line}` }), element('span', { className: 'error-text', text: error.message })]),
      ),
    );
    setText(this.count, formatCount(errors.length));
    this.root.hidden = errors.length === 0;
  }
}
