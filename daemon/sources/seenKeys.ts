// The keys a file source has handed out in one read, to tell a repeated key apart. A file
// keyed by a field can repeat a key anywhere (SQL sources read in key order, where repeats
// are neighbours); the ledger holds one row per key, so a repeat would overwrite the first
// record's answer or be sent again and again. Millions of keys do not fit a bounded heap,
// so they live in a private temporary SQLite database (on disk, deleted when closed).
import Database from 'better-sqlite3';

export class SeenKeys {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement<[string, string]>;
  private readonly firstPlace: Database.Statement<[string], string>;

  constructor() {
    // An empty file name: SQLite's own temporary database, removed on close.
    this.db = new Database('');
    this.db.pragma('journal_mode = OFF');
    this.db.pragma('synchronous = OFF');
    this.db.exec('CREATE TABLE seen (key TEXT PRIMARY KEY, place TEXT NOT NULL) WITHOUT ROWID');
    this.insert = this.db.prepare('INSERT INTO seen (key, place) VALUES (?, ?) ON CONFLICT (key) DO NOTHING');
    this.firstPlace = this.db.prepare<[string], string>('SELECT place FROM seen WHERE key = ?').pluck();
    // One transaction for the whole read, never committed: nothing here needs to last, and a
    // commit per key would make a million keys take ten times longer.
    this.db.exec('BEGIN');
  }

  /** Records `key` as seen at `place`; returns where it was seen first if it was seen before. */
  add(key: string, place: string): string | undefined {
    if (this.insert.run(key, place).changes === 1) return undefined;
    return this.firstPlace.get(key) ?? 'an earlier entry';
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
