// The demo's customer-feedback table: created once, deterministic, multilingual.
import Database from 'better-sqlite3';
import { sampleChannel, sampleFeedback } from './sampleFeedback';

export function ensureDemoDatabase(path: string, rows: number): { created: boolean } {
  const db = new Database(path);
  try {
    db.exec(`CREATE TABLE IF NOT EXISTS feedback (
      id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, channel TEXT NOT NULL, created_at TEXT NOT NULL, text TEXT NOT NULL)`);
    const existing = (db.prepare('SELECT count(*) AS n FROM feedback').get() as { n: number }).n;
    if (existing === rows) return { created: false };
    db.exec('DELETE FROM feedback');
    const insert = db.prepare('INSERT INTO feedback (id, customer_id, channel, created_at, text) VALUES (?, ?, ?, ?, ?)');
    const start = Date.parse('2024-01-01T00:00:00Z');
    db.transaction(() => {
      for (let id = 1; id <= rows; id += 1) {
        const createdAt = new Date(start + id * 1_537_000).toISOString();
        insert.run(id, 1000 + ((id * 7919) % 4001), sampleChannel(id), createdAt, sampleFeedback(id));
      }
    })();
    return { created: true };
  } finally {
    db.close();
  }
}
