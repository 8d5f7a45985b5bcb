import { generateKyvernoPolicies, type KyvernoPolicyKind } from '../policy/kyverno.js';
import { loadTrustConfig } from '../policy/trust.js';
import type { Command } from './commands.js';
import { Exit, local, UsageError } from './io.js';

const KINDS: readonly KyvernoPolicyKind[] = ['ImageValidatingPolicy', 'ClusterPolicy'];

/**
 * `chartproof policy kyverno --config trust.yaml [--kind K]`: Kyverno policies from a
 * trust config, as YAML documents on stdout (`--json`: `{ documents, warnings }`);
 * known Kyverno bugs the configuration hits are printed on stderr as warnings.
 */
export const POLICY_COMMAND: Command = {
  usage: 'policy kyverno --config FILE [--kind ImageValidatingPolicy|ClusterPolicy]',
  summary: 'generate Kyverno policies (registries, image signatures) from a trust config',
  localInput: true,
  help:
    '\nWrites YAML documents to stdout: a ValidatingPolicy (internal registries only) and an\n' +
    'ImageValidatingPolicy (cosign signatures), policies.kyverno.io/v1 (Kyverno >= 1.17), or with\n' +
    '--kind ClusterPolicy one kyverno.io/v1 ClusterPolicy for older clusters. Helm charts\n' +
    'themselves are verified by the admission webhook, not by Kyverno (docs/admission.md).\n',
  options: {
    config: { type: 'string' },
    kind: { type: 'string' },
  },
  async run(ctx) {
    const [sub, ...rest] = ctx.args;
    if (sub !== 'kyverno') throw new UsageError(`expected a subcommand: chartproof ${this.usage}`);
    if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
    const config = ctx.values.config as string | undefined;
    if (!config) throw new UsageError('--config FILE is required');
    const kind = (ctx.values.kind as string | undefined) ?? 'ImageValidatingPolicy';
    if (!(KINDS as readonly string[]).includes(kind))
      throw new UsageError(`--kind must be one of ${KINDS.join(', ')}`);
    const trust = await local(() => loadTrustConfig(config));
    const out = generateKyvernoPolicies(trust, { kind: kind as KyvernoPolicyKind });
    for (const w of out.warnings) ctx.io.stderr(`Warning: ${w.issue}: ${w.message}\n`);
    if (ctx.flags.json)
      ctx.io.stdout(`${JSON.stringify({ documents: out.documents, warnings: out.warnings }, null, 2)}\n`);
    else ctx.io.stdout(out.yaml);
    return Exit.ok;
  },
};
