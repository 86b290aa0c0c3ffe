// The banner that says why a job is paused, failed or finished, with the fix at hand.
import { button, element, setAttribute, setText } from '../shared/dom';
import type { Banner, BannerAction } from './jobPhase';

const actionLabels: Record<BannerAction, string> = { setApiKey: 'Set API Key', showLogs: 'Show Logs' };

export class StatusBanner {
  readonly root = element('div', { className: 'status-banner banner' });
  private readonly message = element('p', { className: 'status-message' });
  private readonly actions = new Map<BannerAction, HTMLButtonElement>();

  constructor(act: (action: BannerAction) => void) {
    const actionBar = element('div', { className: 'status-actions' });
    for (const action of Object.keys(actionLabels) as BannerAction[]) {
      const control = button(actionLabels[action], action === 'setApiKey' ? 'primary' : 'secondary');
      control.dataset.action = action;
      control.hidden = true;
      control.addEventListener('click', () => act(action));
      this.actions.set(action, control);
      actionBar.append(control);
    }
    this.root.append(this.message, actionBar);
    this.root.hidden = true;
  }

  update(banner: Banner | null): void {
    this.root.hidden = banner === null;
    if (banner === null) return;
    setAttribute(this.root, 'data-tone', banner.tone);
    // An error interrupts the user's reading (alert); anything else waits its turn (status).
    setAttribute(this.root, 'role', banner.tone === 'error' ? 'alert' : 'status');
    setText(this.message, banner.message);
    for (const [action, control] of this.actions) control.hidden = !banner.actions.includes(action);
  }
}
