// The record preview inside its webview: posts `ready`, shows the records the extension
// sends with their prompts, tokens and cost, lists parse errors by line, and runs the task
// on just these records with the answers shown beside them.
import '../shared/zodWithoutEval';
import '../shared/base.css';
import './preview.css';
import type { PreviewContent, PreviewToExtension, ExtensionToPreview } from '../protocol/previewMessages';
import { extensionToPreviewSchema } from '../protocol/previewMessages';
import { button, element, setText } from '../shared/dom';
import { formatCount } from '../shared/format';
import { connectToHost } from '../shared/hostBridge';
import { FullTextDialog } from './fullTextDialog';
import { ParseErrorList } from './parseErrorList';
import { fieldColumns, runnableKeys, runnableText, shownTotals, wholeSelectionText } from './previewSummary';
import { RecordTable } from './recordTable';
import { TemplateForm } from './templateForm';

const title = element('h1', { text: 'Record preview' });
const subtitle = element('p', { className: 'preview-source', text: 'Loading records…' });
const dialog = new FullTextDialog();
const template = new TemplateForm((text) => {
  setStatus('running', 'Rendering the records with the new template…');
  host.post({ type: 'changeTemplate', template: text });
});
const runButton = button('Run on these records', 'primary');
const runnable = element('span', { className: 'runnable' });
const status = element('p', { className: 'run-status', attributes: { role: 'status' } });
const parseErrors = new ParseErrorList();
const table = new RecordTable((heading, text) => dialog.open(heading, text));
const wholeSelection = element('p', { className: 'whole-selection' });

let content: PreviewContent | null = null;
let running = false;
runButton.disabled = true;
runButton.addEventListener('click', () => {
  const keys = content === null ? [] : runnableKeys(content.records);
  if (keys.length === 0) return;
  running = true;
  updateRunButton();
  setStatus('running', `Starting a run on ${formatCount(keys.length)} records…`);
  host.post({ type: 'runOnThese', keys });
});

const app = document.getElementById('app') ?? document.body;
app.append(
  element('header', { className: 'preview-header' }, [title, subtitle]),
  template.root,
  element('div', { className: 'run-bar' }, [runButton, runnable]),
  status,
  parseErrors.root,
  table.root,
  wholeSelection,
  dialog.root,
);

const host = connectToHost<ExtensionToPreview, PreviewToExtension>('preview', extensionToPreviewSchema, receive);
host.post({ type: 'ready' });

function receive(message: ExtensionToPreview): void {
  switch (message.type) {
    case 'preview':
      show(message);
      break;
    case 'parseErrors':
      parseErrors.update(message.errors);
      break;
    case 'runStatus':
      running = message.state === 'running';
      updateRunButton();
      setStatus(message.state, message.message);
      break;
    case 'answers':
      table.showAnswers(message.answers);
      break;
  }
}

function show(preview: PreviewContent): void {
  content = preview;
  const fields = fieldColumns(preview.records);
  const totals = shownTotals(preview.records);
  setText(subtitle, `${preview.source} · ${preview.model} · ${formatCount(preview.records.length)} records shown`);
  template.update(preview.template, preview.system, fields);
  table.show(preview.records, fields);
  setText(runnable, runnableText(totals));
  const whole = wholeSelectionText(preview.totals, preview.records.length);
  setText(wholeSelection, whole ?? '');
  wholeSelection.hidden = whole === null;
  // A re-render answers the template change; a run in progress keeps its own status.
  if (!running) setStatus('idle', '');
  updateRunButton();
}

function updateRunButton(): void {
  runButton.disabled = running || content === null || runnableKeys(content.records).length === 0;
}

function setStatus(state: 'idle' | 'running' | 'done' | 'failed', text: string): void {
  status.dataset.state = state;
  setText(status, text);
}
