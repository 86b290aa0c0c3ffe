// From a spec's connection URL and password variable to node-postgres settings. Specs live in
// workspaces and get committed, so a password inside the URL is refused, and the password
// itself never appears in a description, a message or a log.
import type { PoolConfig } from 'pg';

export interface ConnectionTarget {
  /** node-postgres settings, password included (only ever handed to the pool). */
  config: PoolConfig;
  /** `user@host:port/database`, safe to show. */
  description: string;
}

export interface ConnectionOptions {
  /** Where the options sit in the spec, for messages: `source` or `sink`. */
  optionPath: string;
  url: string;
  passwordEnv: string | undefined;
  applicationName: string;
  env?: NodeJS.ProcessEnv;
  /** Builds the error type of the caller (SourceError, SinkError). */
  fail: (message: string) => Error;
}

const supportedParameters = ['host', 'port', 'user', 'dbname', 'sslmode', 'application_name', 'connect_timeout', 'options'];

function sslFromMode(mode: string, fail: (message: string) => Error, optionPath: string): PoolConfig['ssl'] {
  switch (mode) {
    case 'disable':
      return false;
    case 'no-verify':
      return { rejectUnauthorized: false };
    case 'prefer':
    case 'require':
    case 'verify-ca':
    case 'verify-full':
      return true;
    default:
      throw fail(
        `${optionPath}.url: sslmode "${mode}" is not supported; use disable, no-verify, require, verify-ca or verify-full`,
      );
  }
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function connectionTarget(options: ConnectionOptions): ConnectionTarget {
  const { optionPath, fail } = options;
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw fail(`${optionPath}.url is not a valid URL; expected postgres://user@host:port/database`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw fail(`${optionPath}.url must start with postgres:// or postgresql://, not ${url.protocol}//`);
  }
  if (url.password !== '' || url.searchParams.has('password')) {
    throw fail(
      `${optionPath}.url contains a password. Specs live in workspaces and get committed: remove the password from ` +
        `the URL, put it in an environment variable and name that variable in ${optionPath}.passwordEnv.`,
    );
  }
  const unknown = [...url.searchParams.keys()].filter((name) => !supportedParameters.includes(name));
  if (unknown.length > 0) {
    const named = unknown.map((name) => `"${name}"`).join(', ');
    throw fail(`${optionPath}.url: unsupported parameter ${named}; supported: ${supportedParameters.join(', ')}`);
  }

  const parameter = (name: string) => url.searchParams.get(name) ?? undefined;
  const host = parameter('host') ?? (url.hostname === '' ? undefined : url.hostname.replace(/^\[(.*)\]$/, '$1'));
  const portText = parameter('port') ?? (url.port === '' ? undefined : url.port);
  const user = parameter('user') ?? (url.username === '' ? undefined : decoded(url.username));
  const database = parameter('dbname') ?? (url.pathname.length > 1 ? decoded(url.pathname.slice(1)) : undefined);
  const sslmode = parameter('sslmode');
  const connectTimeout = parameter('connect_timeout');
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    throw fail(`${optionPath}.url: port "${portText}" is not a port number`);
  }
  const connectTimeoutSeconds = connectTimeout === undefined ? 10 : Number(connectTimeout);
  if (!(connectTimeoutSeconds > 0)) {
    throw fail(`${optionPath}.url: connect_timeout "${connectTimeout}" must be a positive number of seconds`);
  }

  let password: string | undefined;
  if (options.passwordEnv !== undefined) {
    password = (options.env ?? process.env)[options.passwordEnv];
    if (password === undefined || password === '') {
      throw fail(
        `${optionPath}.passwordEnv: the environment variable "${options.passwordEnv}" is not set (or empty); ` +
          'set it to the database password before starting the job',
      );
    }
  }

  const config: PoolConfig = {
    host,
    port,
    user,
    database,
    password,
    application_name: parameter('application_name') ?? options.applicationName,
    // Server settings for the session, e.g. `-c search_path=analytics`.
    options: parameter('options'),
    ssl: sslmode === undefined ? undefined : sslFromMode(sslmode, fail, optionPath),
    connectionTimeoutMillis: connectTimeoutSeconds * 1000,
    keepAlive: true,
  };
  const description = `${user ?? '(default user)'}@${host ?? 'localhost'}:${portText ?? 5432}/${database ?? '(default database)'}`;
  return { config, description };
}
