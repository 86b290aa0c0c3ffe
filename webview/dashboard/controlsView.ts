// Pause / Resume / Cancel / Export, enabled according to the job's status.
import { button, element } from '../shared/dom';
import type { ControlState } from './jobPhase';

export type ControlAction = keyof ControlState;

const labels: Record<ControlAction, string> = {
  pause: 'Pause',
  resume: 'Resume',
  cancel: 'Cancel',
  openResults: 'Export Results…',
};

export class ControlsView {
  readonly root = element('div', { className: 'job-controls', attributes: { role: 'toolbar', 'aria-label': 'Job actions' } });
  private readonly buttons = new Map<ControlAction, HTMLButtonElement>();

  constructor(act: (action: ControlAction) => void) {
    for (const action of Object.keys(labels) as ControlAction[]) {
      const control = button(labels[action], action === 'cancel' ? 'secondary danger' : 'secondary');
      control.dataset.action = action;
      control.disabled = true;
      control.addEventListener('click', () => act(action));
      this.buttons.set(action, control);
      this.root.append(control);
    }
  }

  update(state: ControlState): void {
    for (const [action, control] of this.buttons) {
      const disabled = !state[action];
      if (control.disabled !== disabled) control.disabled = disabled;
    }
  }
}
