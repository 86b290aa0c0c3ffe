// placeholder until the daemon issue lands
process.stderr.write('drover daemon: not built yet\n');
process.exitCode = 1;
