// A typed event for the parts of the extension that do not import `vscode` (the daemon
// connection, the jobs model), so they run under node's test runner as well as in VS Code.
// Its `event` has the shape of vscode.Event, so a view can subscribe the usual way.

export interface Subscription {
  dispose(): void;
}

export type Event<T> = (listener: (value: T) => void) => Subscription;

export class Listeners<T> {
  private readonly listeners = new Set<(value: T) => void>();

  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  fire(value: T): void {
    // A copy: a listener may unsubscribe itself (or another) while being called.
    for (const listener of [...this.listeners]) listener(value);
  }

  dispose(): void {
    this.listeners.clear();
  }
}
