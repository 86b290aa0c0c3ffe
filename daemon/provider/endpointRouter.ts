// Chooses the endpoint for each request: the primary while it works; after a run of
// failures the next fallback; and, while on a fallback, one probe of the primary now and
// then, taking it back as soon as a probe succeeds.
import type { Clock } from '../limits/clock';
import type { ProviderClient } from './providerClient';

export interface Route {
  readonly index: number;
  readonly client: ProviderClient;
  readonly model: string;
  readonly probe: boolean;
}

export interface RouterEvents {
  onSwitch(from: Route, to: Route, reason: string): void;
}

export class EndpointRouter {
  private current = 0;
  private readonly failures: number[];
  private lastProbeAt = 0;
  private probing = false;

  constructor(
    private readonly endpoints: readonly { client: ProviderClient; model: string }[],
    private readonly clock: Clock,
    private readonly events: RouterEvents,
    private readonly failoverAfter = 3,
    private readonly probeIntervalMs = 30_000,
  ) {
    this.failures = endpoints.map(() => 0);
  }

  get activeIndex(): number {
    return this.current;
  }

  get activeBaseUrl(): string {
    return (this.endpoints[this.current] as { client: ProviderClient }).client.endpoint.baseUrl;
  }

  private route(index: number, probe: boolean): Route {
    const endpoint = this.endpoints[index];
    return { index, client: endpoint.client, model: endpoint.model, probe };
  }

  pick(): Route {
    const now = this.clock.now();
    if (this.current !== 0 && !this.probing && now - this.lastProbeAt >= this.probeIntervalMs) {
      this.probing = true;
      this.lastProbeAt = now;
      return this.route(0, true);
    }
    return this.route(this.current, false);
  }

  /** The route was never used (the job stopped first): a probe may be tried again. */
  release(route: Route): void {
    if (route.probe) this.probing = false;
  }

  /** `failed` counts only endpoint trouble (network, 5xx), never a rate limit or a bad record. */
  report(route: Route, failed: boolean): void {
    if (route.probe) this.probing = false;
    if (!failed) {
      this.failures[route.index] = 0;
      if (route.probe && this.current !== 0) {
        const from = this.route(this.current, false);
        this.current = 0;
        this.events.onSwitch(from, this.route(0, false), 'the primary endpoint answers again');
      }
      return;
    }
    this.failures[route.index] = (this.failures[route.index] ?? 0) + 1;
    const next = route.index + 1;
    if (route.index === this.current && (this.failures[route.index] ?? 0) >= this.failoverAfter && next < this.endpoints.length) {
      const from = this.route(this.current, false);
      this.current = next;
      this.failures[next] = 0;
      this.lastProbeAt = this.clock.now();
      this.events.onSwitch(from, this.route(next, false), `${this.failoverAfter} failures in a row`);
    }
  }
}
