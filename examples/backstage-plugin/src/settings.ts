import type { RootConfigService } from '@backstage/backend-plugin-api';
import { parseTrustConfig, type TrustConfig } from 'chartproof/policy';

/** The plugin's configuration, read once at start. */
export interface ChartproofSettings {
  /** The trust config (`chartproof.trust`, same fields as chartproof's trust.yaml; keys as PEM). */
  trust: TrustConfig;
  /** Deadline of one `/verify` or `/audit` request, in milliseconds. Default 60 s. */
  timeoutMs: number;
  /** Largest `/audit` body accepted, in bytes. Default 16 MiB. */
  maxAuditBytes: number;
}

/**
 * Reads `chartproof.*` from the app config:
 *
 * ```yaml
 * chartproof:
 *   trust:
 *     registries: [registry.internal.example]
 *     verify: { keys: ["-----BEGIN PUBLIC KEY-----\n…"], tlog: skip }
 *     charts: { reference: "oci://registry.internal.example/charts/{name}:{version}" }
 *   timeoutMs: 60000
 *   maxAuditBytes: 16777216
 * ```
 * @throws chartproof's `TrustConfigError` (code `INVALID_CONFIG`) naming the bad field
 */
export function readSettings(config: RootConfigService): ChartproofSettings {
  const raw = config.getConfig('chartproof.trust').get();
  return {
    trust: parseTrustConfig(raw, { what: 'app-config chartproof.trust' }),
    timeoutMs: config.getOptionalNumber('chartproof.timeoutMs') ?? 60_000,
    maxAuditBytes: config.getOptionalNumber('chartproof.maxAuditBytes') ?? 16 * 1024 * 1024,
  };
}
