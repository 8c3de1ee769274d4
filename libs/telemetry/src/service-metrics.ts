import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** gRPC status names by code, so this library needs no gRPC import. */
const STATUS_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE',
  'DATA_LOSS', 'UNAUTHENTICATED',
];

export type Stage = 'train' | 'label' | 'evaluate';

/**
 * One service's Prometheus metrics. Every label has a bounded set of values: methods are the ones the
 * service registered (anything else counts as "other"), codes the 17 gRPC codes, stages and states fixed.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly methods: Set<string>;
  private readonly calls: Counter<'method' | 'code'>;
  private readonly latency: Histogram<'method'>;
  private readonly images: Counter<'stage'>;
  private readonly imageRate: Gauge<'stage'>;
  private readonly pseudo: Counter<'outcome'>;

  constructor(service: string, methodPaths: string[], jobStates?: () => Map<string, number>) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry, prefix: 'selftrain_' });
    this.methods = new Set(methodPaths);
    this.calls = new Counter({ name: 'selftrain_rpc_calls_total', help: 'Finished gRPC calls by method and status code.', labelNames: ['method', 'code'], registers: [this.registry] });
    this.latency = new Histogram({
      name: 'selftrain_rpc_duration_seconds', help: 'gRPC call duration by method.', labelNames: ['method'], registers: [this.registry],
      buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 60],
    });
    this.images = new Counter({ name: 'selftrain_images_total', help: 'Images processed, by stage.', labelNames: ['stage'], registers: [this.registry] });
    this.imageRate = new Gauge({ name: 'selftrain_images_per_second', help: 'Throughput of the latest unit of work, by stage.', labelNames: ['stage'], registers: [this.registry] });
    this.pseudo = new Counter({ name: 'selftrain_pseudo_labels_total', help: 'Pseudo-labels kept or dropped by the threshold.', labelNames: ['outcome'], registers: [this.registry] });
    if (jobStates) {
      new Gauge({
        name: 'selftrain_jobs', help: 'Jobs held by this process, by state.', labelNames: ['state'], registers: [this.registry],
        collect() {
          this.reset();
          for (const [state, n] of jobStates()) this.set({ state }, n);
        },
      });
    }
  }

  /** Matches rpc's CallObserver. */
  readonly observeCall = (path: string, code: number, seconds: number): void => {
    const method = this.methods.has(path) ? path : 'other';
    this.calls.inc({ method, code: STATUS_NAMES[code] ?? 'UNKNOWN' });
    this.latency.observe({ method }, seconds);
  };

  imagesProcessed(stage: Stage, count: number, seconds?: number): void {
    this.images.inc({ stage }, count);
    if (seconds && seconds > 0) this.imageRate.set({ stage }, count / seconds);
  }

  /** A training job's own measure of its throughput (it knows its step time better than we do). */
  trainingRate(imagesPerSecond: number): void {
    this.imageRate.set({ stage: 'train' }, imagesPerSecond);
  }

  pseudoLabels(kept: number, dropped: number): void {
    this.pseudo.inc({ outcome: 'kept' }, kept);
    this.pseudo.inc({ outcome: 'dropped' }, dropped);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
