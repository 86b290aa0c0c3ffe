// The full text of a cut-short cell (a long field, a prompt, an answer), in a modal dialog.
import { button, element, setText } from '../shared/dom';

export class FullTextDialog {
  readonly root: HTMLDialogElement;
  private readonly title = element('h2', { attributes: { id: 'full-text-title' } });
  private readonly text = element('pre', { className: 'full-text-body' });

  constructor() {
    const close = button('Close');
    close.addEventListener('click', () => this.root.close());
    this.root = element('dialog', { className: 'full-text', attributes: { 'aria-labelledby': this.title.id } }, [
      element('div', { className: 'full-text-head' }, [this.title, close]),
      this.text,
    ]);
  }

  open(title: string, text: string): void {
    setText(this.title, title);
    setText(this.text, text);
    this.root.showModal();
  }
}
