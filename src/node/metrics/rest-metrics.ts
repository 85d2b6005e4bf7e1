import { Counter, type Registry } from 'prom-client';
import type { RestExchange, RestExchangeRecorder } from '../../core/rest-exchange.js';

/**
 * The REST gateway's calls, counted as they are logged: every exchange with a configured API passes
 * the recorder (a request for an API the node does not know is refused before, and is not counted).
 * Labels: the API's name and version, the direction (out = fruizione, in = erogazione), the HTTP
 * status returned, and for a refusal the error code.
 */
export class RestMetrics {
  private readonly calls: Counter<'api' | 'version' | 'direction' | 'status'>;
  private readonly refusals: Counter<'api' | 'version' | 'direction' | 'code'>;

  constructor(registry: Registry) {
    this.calls = new Counter({
      name: 'tramite_rest_calls_total',
      help: 'REST gateway exchanges by API, version, direction (out: fruizione, in: erogazione) and HTTP status returned',
      labelNames: ['api', 'version', 'direction', 'status'],
      registers: [registry],
    });
    this.refusals = new Counter({
      name: 'tramite_rest_refusals_total',
      help: 'REST gateway exchanges refused or failed, by error code',
      labelNames: ['api', 'version', 'direction', 'code'],
      registers: [registry],
    });
  }

  /** The recorder the gateway is given: `inner` records, then the exchange is counted. */
  measuring(inner: RestExchangeRecorder): RestExchangeRecorder {
    return {
      recordRestExchange: async (x: RestExchange) => {
        this.count(x);
        await inner.recordRestExchange(x);
      },
    };
  }

  private count(x: RestExchange): void {
    const api = { api: x.service, version: x.version, direction: x.direction };
    this.calls.inc({ ...api, status: String(x.response?.status ?? 'none') });
    const error = x.detail['error'] as { code?: unknown } | undefined;
    if (x.status === 'FAILED') this.refusals.inc({ ...api, code: typeof error?.code === 'string' ? error.code : 'unknown' });
  }
}
