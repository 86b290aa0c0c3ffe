// A wizard of quick picks and input boxes with a Back button, one step at a time, in the
// manner of vscode-extension-samples' multi-step input: each step is a function that asks
// one question and returns the next step. Back re-runs the previous step; Escape ends it.
import * as vscode from 'vscode';

export type Step<S> = (input: MultiStepInput, state: S) => Promise<Step<S> | undefined>;

class BackRequested extends Error {}
class Cancelled extends Error {}

interface Common {
  title: string;
  step: number;
  totalSteps: number;
}

export interface PickOptions<T extends vscode.QuickPickItem> extends Common {
  items: readonly T[] | (() => Promise<readonly T[]>);
  placeholder: string;
  activeLabel?: string;
}

export interface PickManyOptions<T extends vscode.QuickPickItem> extends PickOptions<T> {
  selected: (item: T) => boolean;
}

export interface InputOptions extends Common {
  value: string;
  prompt: string;
  placeholder?: string;
  validate(value: string): string | undefined;
}

export class MultiStepInput {
  private current: vscode.QuickInput | null = null;
  private readonly steps: Step<never>[] = [];

  /** Runs the wizard; true when the last step finished, false when the user left it. */
  static async run<S>(first: Step<S>, state: S): Promise<boolean> {
    return new MultiStepInput().drive(first, state);
  }

  private async drive<S>(first: Step<S>, state: S): Promise<boolean> {
    let step: Step<S> | undefined = first;
    try {
      while (step) {
        this.steps.push(step);
        try {
          step = await step(this, state);
        } catch (error) {
          if (!(error instanceof BackRequested)) throw error;
          this.steps.pop();
          step = this.steps.pop() as Step<S> | undefined;
        }
      }
      return true;
    } catch (error) {
      if (error instanceof Cancelled) return false;
      throw error;
    } finally {
      this.current?.dispose();
    }
  }

  pick<T extends vscode.QuickPickItem>(options: PickOptions<T>): Promise<T> {
    return this.show<T, T>(options, false, (picker) => picker.selectedItems[0] ?? picker.activeItems[0]);
  }

  pickMany<T extends vscode.QuickPickItem>(options: PickManyOptions<T>): Promise<T[]> {
    return this.show<T, T[]>(options, true, (picker) => (picker.selectedItems.length > 0 ? [...picker.selectedItems] : undefined), options.selected);
  }

  private show<T extends vscode.QuickPickItem, R>(
    options: PickOptions<T>,
    many: boolean,
    answer: (picker: vscode.QuickPick<T>) => R | undefined,
    selected?: (item: T) => boolean,
  ): Promise<R> {
    const picker = vscode.window.createQuickPick<T>();
    picker.title = options.title;
    picker.step = options.step;
    picker.totalSteps = options.totalSteps;
    picker.placeholder = options.placeholder;
    picker.canSelectMany = many;
    picker.ignoreFocusOut = true;
    picker.matchOnDescription = true;
    picker.buttons = this.steps.length > 1 ? [vscode.QuickInputButtons.Back] : [];
    const fill = (items: readonly T[]) => {
      picker.items = items;
      if (selected) picker.selectedItems = items.filter(selected);
      const active = items.find((item) => item.label === options.activeLabel);
      if (active) picker.activeItems = [active];
    };
    return this.await(picker, (resolve, reject) => {
      if (typeof options.items === 'function') {
        picker.busy = true;
        picker.enabled = false;
        options.items().then(
          (items) => {
            fill(items);
            picker.busy = false;
            picker.enabled = true;
          },
          (error: unknown) => reject(error),
        );
      } else {
        fill(options.items);
      }
      return [
        picker.onDidAccept(() => {
          const value = answer(picker);
          if (value !== undefined) resolve(value);
        }),
      ];
    });
  }

  input(options: InputOptions): Promise<string> {
    const box = vscode.window.createInputBox();
    box.title = options.title;
    box.step = options.step;
    box.totalSteps = options.totalSteps;
    box.value = options.value;
    box.prompt = options.prompt;
    box.placeholder = options.placeholder;
    box.ignoreFocusOut = true;
    box.buttons = this.steps.length > 1 ? [vscode.QuickInputButtons.Back] : [];
    return this.await<string>(box, (resolve) => [
      box.onDidChangeValue((value) => (box.validationMessage = options.validate(value))),
      box.onDidAccept(() => {
        const problem = options.validate(box.value);
        box.validationMessage = problem;
        if (!problem) resolve(box.value);
      }),
    ]);
  }

  /** Shows `input` in place of the previous one and settles on an answer, Back or Escape. */
  private await<R>(input: vscode.QuickInput & { onDidTriggerButton: vscode.Event<vscode.QuickInputButton> }, wire: (resolve: (value: R) => void, reject: (error: unknown) => void) => vscode.Disposable[]): Promise<R> {
    const disposables: vscode.Disposable[] = [];
    return new Promise<R>((resolve, reject) => {
      disposables.push(
        ...wire(resolve, reject),
        input.onDidTriggerButton((button) => {
          if (button === vscode.QuickInputButtons.Back) reject(new BackRequested());
        }),
        input.onDidHide(() => reject(new Cancelled())),
      );
      this.current?.dispose();
      this.current = input;
      input.show();
    }).finally(() => {
      for (const disposable of disposables) disposable.dispose();
    });
  }
}
