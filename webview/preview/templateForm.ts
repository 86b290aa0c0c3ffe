// The prompt template, editable: "Re-render" asks the extension to render the same records
// again with the edited template.
import { button, element, setText } from '../shared/dom';

export class TemplateForm {
  readonly root: HTMLElement;
  private readonly textarea = element('textarea', { attributes: { id: 'template', rows: '3', spellcheck: 'false' } });
  private readonly rerender = button('Re-render');
  private readonly hint = element('p', { className: 'template-hint', attributes: { id: 'template-hint' } });
  private readonly system = element('pre', { className: 'system-prompt' });
  private readonly systemBlock: HTMLDetailsElement;
  private rendered = '';

  constructor(changeTemplate: (template: string) => void) {
    this.textarea.setAttribute('aria-describedby', this.hint.id);
    const submit = () => {
      const template = this.textarea.value;
      if (template.trim() === '') {
        setText(this.hint, 'The template is empty: write the prompt, with {{field}} where a field goes.');
        this.hint.classList.add('error-text');
        return;
      }
      changeTemplate(template);
    };
    this.rerender.disabled = true;
    this.rerender.addEventListener('click', submit);
    this.textarea.addEventListener('input', () => {
      this.rerender.disabled = this.textarea.value === this.rendered;
    });
    this.textarea.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey) && !this.rerender.disabled) submit();
    });
    this.systemBlock = element('details', { className: 'system-block' }, [element('summary', { text: 'System prompt' }), this.system]);
    const label = element('label', { text: 'Prompt template', attributes: { for: this.textarea.id } });
    this.root = element('div', { className: 'template-form' }, [
      element('div', { className: 'template-row' }, [label, this.rerender]),
      this.textarea,
      this.hint,
      this.systemBlock,
    ]);
  }

  update(template: string, system: string | null, fields: readonly string[]): void {
    // An edit the user is making is theirs: only replace text they have not changed.
    if (this.textarea.value === this.rendered) this.textarea.value = template;
    this.rendered = template;
    this.rerender.disabled = this.textarea.value === template;
    this.hint.classList.remove('error-text');
    setText(this.hint, fields.length === 0 ? '' : `Fields: ${fields.map((name) => `{{${name}}}`).join(', ')}`);
    this.systemBlock.hidden = system === null;
    setText(this.system, system ?? '');
  }
}
