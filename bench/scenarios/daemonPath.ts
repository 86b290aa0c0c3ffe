// 6. Daemon and UI path: the overhead job started through the daemon (as the extension does)
// with a client subscribed to its progress, against the same job run in-process by
// `drover run`. The daemon runs under GNU time too, so its CPU is its own.
import { setTimeout as delay } from 'node:timers/promises';
import { DaemonClient } from '../../daemon/daemonClient/daemonClient';
import { readDiscovery } from '../../daemon/daemonClient/discovery';
import type { JobProgress } from '../../daemon/protocol/jobProgress';
import { ensureSqliteFeedback } from '../datasets';
import { freshStateDir, runDrover } from '../engines';
import { withMock } from '../mockProcess';
import { paths } from '../paths';
import { startTimed } from '../processes';
import { percentOfCore, type ScenarioResult } from '../report';
import { freshResultsDb, type Scenario, sqliteJob } from './scenario';

const concurrency = 32;

async function runThroughDaemon(spec: ReturnType<typeof sqliteJob>) {
  const home = freshStateDir('daemon-home');
  const daemon = startTimed([process.execPath, paths.daemon, '--state-dir', home], { ...process.env, DROVER_HOME: home });
  try {
    const deadline = Date.now() + 20_000;
    while (readDiscovery(home) === null) {
      if (Date.now() > deadline) throw new Error('the daemon wrote no daemon.json in 20 s');
      await delay(50);
    }
    const discovery = readDiscovery(home)!;
    const client = await DaemonClient.connect({ port: discovery.port, token: discovery.token });
    let notifications = 0;
    let finalProgress: JobProgress | null = null;
    const finished = new Promise<void>((resolve, reject) => {
      client.onClose((reason) => reject(new Error(`lost the daemon before the job ended: ${reason}`)));
      client.on('job.progress', () => notifications++);
      client.on('job.state', (state) => {
        if (state.jobId !== spec.name || state.active || state.status === 'running') return;
        finalProgress = state.progress;
        resolve();
      });
    });
    await client.call('job.start', { spec: { ...spec }, baseDir: paths.work });
    await client.call('job.subscribe', { jobId: spec.name });
    await finished;
    await client.close();
    const progress = finalProgress as JobProgress | null;
    if (progress === null || progress.status !== 'done' || progress.records.done !== progress.records.total) {
      throw new Error(`the daemon's job ended ${progress?.status ?? 'without progress'}: ${JSON.stringify(progress?.records)}`);
    }
    await daemon.signal('SIGTERM');
    const outcome = await daemon.done;
    if (outcome.code !== 0) throw new Error(`the daemon exited ${outcome.code}: ${outcome.stderr.slice(-2000)}`);
    return { notifications, elapsedSec: progress.elapsedSec, usage: outcome.usage };
  } finally {
    if (daemon.child.exitCode === null) await daemon.signal('SIGTERM');
  }
}

export const daemonScenario: Scenario = {
  id: 'daemon',
  async run({ quick, log }): Promise<ScenarioResult> {
    const records = quick ? 3_000 : 50_000;
    ensureSqliteFeedback(records);

    log(`daemon: through the daemon with a subscribed client, ${records} records`);
    const viaDaemon = await withMock([], (mock) =>
      runThroughDaemon(sqliteJob('bench-daemon', records, mock.url, freshResultsDb('daemon-daemon'), { limits: { concurrency } })),
    );
    log(`daemon: in-process drover run, ${records} records`);
    const inProcess = await withMock([], (mock) =>
      runDrover(sqliteJob('bench-in-process', records, mock.url, freshResultsDb('daemon-in-process'), { limits: { concurrency } })),
    );
    const daemon = viaDaemon.result;
    const local = inProcess.result;
    return {
      id: 'daemon',
      title: '6. Daemon and UI path',
      setup: `${records.toLocaleString('en-US')} records as in 1., through \`dist/daemon.js\` with one subscribed client; the second column is the same job in-process (\`drover run\`), not the baseline`,
      metrics: [
        { name: 'job.progress notifications/s', unit: '', drover: daemon.notifications / daemon.elapsedSec, baseline: null, digits: 1 },
        { name: 'job time (engine elapsed)', unit: 's', drover: daemon.elapsedSec, baseline: local.summary.elapsedSec, digits: 2, ratioOf: 'of in-process' },
        { name: 'process CPU (daemon vs drover run)', unit: 's', drover: daemon.usage.cpuSec, baseline: local.usage.cpuSec, digits: 2, ratioOf: 'of in-process' },
        { name: 'peak RSS (daemon vs drover run)', unit: 'MB', drover: daemon.usage.peakRssMb, baseline: local.usage.peakRssMb, ratioOf: 'of in-process' },
      ],
      bottleneck: `the daemon ${percentOfCore(daemon.usage)} of a core over its life (its mock ${percentOfCore(viaDaemon.mockUsage)}); in-process ${percentOfCore(local.usage)}.`,
      raw: { records, daemon: { ...daemon, mockUsage: viaDaemon.mockUsage }, inProcess: { ...local, mockUsage: inProcess.mockUsage } },
    };
  },
};
