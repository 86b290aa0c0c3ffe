// Creates a table of synthetic customer feedback (English, Japanese and both mixed;
// positive, negative and neutral) for trying and benchmarking Postgres jobs:
//
//   node scripts/generate-pg-table.mjs --url postgres://postgres@127.0.0.1:5432/test \
//     --table bench.feedback --rows 5000000 [--replace]
//
// Rows are made by the server (INSERT … SELECT over generate_series), not sent from Node,
// so five million take seconds, not minutes. The password, if any, comes from PGPASSWORD.
import { parseArgs } from 'node:util';
import pg from 'pg';

const usage = 'usage: node scripts/generate-pg-table.mjs [--url URL] [--table [schema.]name] [--rows N] [--replace]';
const chunkRows = 500_000;

// Index 1 positive, 2 negative, 3 neutral; every row of a 2-D SQL array must be as long as the others.
const english = [
  [
    'Great service, the staff were friendly and quick.',
    'I love the new app update, checkout is so much faster now.',
    'Delivery arrived a day early and everything was perfect.',
    'Support solved my billing problem in five minutes. Impressed!',
    'Best purchase this year, the quality is excellent.',
    'The refund was processed immediately, thank you.',
    'Really easy to set up, even my parents managed it.',
    'Friendly driver, careful packaging, will order again.',
  ],
  [
    'The package arrived broken and nobody answers my emails.',
    'Terrible experience, I waited forty minutes on hold.',
    'The app crashes every time I try to pay.',
    'I was charged twice and still have no refund.',
    'The product stopped working after two days.',
    'Rude staff and a very long queue at the counter.',
    'Tracking said delivered, but nothing came.',
    'Too expensive for what you get, I am cancelling.',
  ],
  [
    'I changed my delivery address last week.',
    'The parcel came on Tuesday as planned.',
    'Is there a way to export my order history?',
    'I used the chat to ask about opening hours.',
    'The product matches the description on the website.',
    'I ordered the blue one instead of the grey one.',
    'My subscription renews at the end of the month.',
    'I paid by card and received the invoice by email.',
  ],
];
const japanese = [
  [
    'スタッフの対応がとても丁寧で満足しています。',
    '新しいアプリは使いやすくて最高です。',
    '注文した商品が予定より早く届きました。ありがとうございます。',
    'サポートの方がすぐに問題を解決してくれました。',
    '品質が素晴らしく、また購入したいです。',
    '返金の手続きがとても早くて助かりました。',
    '梱包が丁寧で、商品は完璧な状態でした。',
    '初めてでも簡単に設定できました。',
  ],
  [
    '商品が壊れた状態で届き、問い合わせにも返事がありません。',
    '電話で四十分も待たされました。最悪です。',
    '支払いのたびにアプリが落ちます。',
    '二重に請求されたのに、まだ返金されていません。',
    '二日で動かなくなりました。がっかりです。',
    '店員の態度が悪く、列もとても長かったです。',
    '配達済みと表示されているのに届いていません。',
    'この値段では高すぎます。解約します。',
  ],
  [
    '先週、配送先の住所を変更しました。',
    '荷物は予定通り火曜日に届きました。',
    '注文履歴をエクスポートする方法はありますか。',
    'チャットで営業時間について問い合わせました。',
    '商品はウェブサイトの説明どおりでした。',
    'グレーではなく青を注文しました。',
    'サブスクリプションは月末に更新されます。',
    'カードで支払い、請求書をメールで受け取りました。',
  ],
];
const channels = ['email', 'chat', 'app_review', 'survey', 'phone', 'social'];

function parseTable(text) {
  const dot = text.indexOf('.');
  const quote = (name) => `"${name.replaceAll('"', '""')}"`;
  return dot === -1
    ? { schema: null, sql: quote(text) }
    : { schema: quote(text.slice(0, dot)), sql: `${quote(text.slice(0, dot))}.${quote(text.slice(dot + 1))}` };
}

// One sentiment (s: about 45% positive, 33% negative, 22% neutral) and language (lang:
// 45% English, 35% Japanese, 20% both) per row, drawn in a LATERAL subquery that refers to
// the row (g) so that it is drawn again for every row. The order number makes every text
// distinct, so an answer cache cannot shortcut a benchmark.
const insertChunk = (table) => `
  INSERT INTO ${table} (id, customer_id, created_at, channel, text)
  SELECT g,
         1 + floor(random() * 250000)::bigint,
         timestamptz '2023-01-01 00:00:00+00' + random() * interval '730 days',
         ($3::text[])[1 + floor(random() * array_length($3::text[], 1))::int],
         CASE
           WHEN r.lang < 0.45 THEN concat_ws(' ', ($4::text[][])[r.s][r.a], CASE WHEN r.more < 0.5 THEN ($4::text[][])[r.s][r.b] END, 'Order #' || g || '.')
           WHEN r.lang < 0.80 THEN concat_ws('', ($5::text[][])[r.s][r.a], CASE WHEN r.more < 0.5 THEN ($5::text[][])[r.s][r.b] END, '（注文番号 ' || g || '）')
           ELSE concat_ws(' ', ($4::text[][])[r.s][r.a], ($5::text[][])[r.s][r.b], '#' || g)
         END
    FROM generate_series($1::bigint, $2::bigint) AS g,
         LATERAL (SELECT g AS row_id,
                         CASE WHEN random() < 0.45 THEN 1 WHEN random() < 0.6 THEN 2 ELSE 3 END AS s,
                         random() AS lang, random() AS more,
                         1 + floor(random() * 8)::int AS a, 1 + floor(random() * 8)::int AS b) AS r`;

async function main() {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
      table: { type: 'string', default: 'feedback' },
      rows: { type: 'string', default: '5000000' },
      replace: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const rows = Number(values.rows);
  if (!Number.isSafeInteger(rows) || rows < 0) throw new Error(`--rows must be a whole number, not "${values.rows}"\n${usage}`);
  const table = parseTable(values.table);

  const client = new pg.Client({ connectionString: values.url, application_name: 'drover generate-pg-table' });
  await client.connect();
  try {
    if (table.schema !== null) await client.query(`CREATE SCHEMA IF NOT EXISTS ${table.schema}`);
    if (values.replace) await client.query(`DROP TABLE IF EXISTS ${table.sql}`);
    // The primary key is added after the load: building one index at the end is far faster
    // than maintaining it row by row.
    await client
      .query(
        `CREATE TABLE ${table.sql} (id bigint NOT NULL, customer_id bigint NOT NULL, ` +
          'created_at timestamptz NOT NULL, channel text NOT NULL, text text NOT NULL)',
      )
      .catch((error) => {
        if (error.code === '42P07') throw new Error(`table ${values.table} already exists; pass --replace to recreate it`);
        throw error;
      });
    await client.query('SELECT setseed(0.42)'); // the same rows on every run
    const started = Date.now();
    for (let first = 1; first <= rows; first += chunkRows) {
      const last = Math.min(rows, first + chunkRows - 1);
      await client.query(insertChunk(table.sql), [first, last, channels, english, japanese]);
      process.stdout.write(`\r${last.toLocaleString('en')} / ${rows.toLocaleString('en')} rows`);
    }
    await client.query(`ALTER TABLE ${table.sql} ADD PRIMARY KEY (id)`);
    await client.query(`ANALYZE ${table.sql}`);
    process.stdout.write(`\n${values.table}: ${rows.toLocaleString('en')} rows in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  } finally {
    await client.end();
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
