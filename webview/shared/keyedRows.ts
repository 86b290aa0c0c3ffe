// Keeps a table body's rows in step with a list by key: rows are created once, updated in
// place and moved or removed only when the list changes, never rebuilt wholesale.

export class KeyedRows<Item> {
  private readonly rows = new Map<string, HTMLTableRowElement>();

  constructor(
    private readonly body: HTMLTableSectionElement,
    private readonly keyOf: (item: Item) => string,
    private readonly create: (item: Item) => HTMLTableRowElement,
    private readonly update: (row: HTMLTableRowElement, item: Item) => void,
  ) {}

  render(items: readonly Item[]): void {
    const seen = new Set<string>();
    let previous: HTMLTableRowElement | null = null;
    for (const item of items) {
      const key = this.keyOf(item);
      if (seen.has(key)) continue; // a duplicate key would steal the first one's row
      seen.add(key);
      let row = this.rows.get(key);
      if (row === undefined) {
        row = this.create(item);
        this.rows.set(key, row);
      }
      this.update(row, item);
      const expected: ChildNode | null = previous === null ? this.body.firstChild : previous.nextSibling;
      if (expected !== row) this.body.insertBefore(row, expected);
      previous = row;
    }
    for (const [key, row] of this.rows) {
      if (seen.has(key)) continue;
      row.remove();
      this.rows.delete(key);
    }
  }

  clear(): void {
    this.render([]);
  }
}
