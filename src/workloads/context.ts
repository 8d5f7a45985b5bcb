/**
 * What the rule families share: the evaluation context, how a finding is emitted, and
 * how values are read as Kubernetes reads them.
 */
import type { Severity } from './severity.js';
import { RULES, type WorkloadRule, type WorkloadRuleId } from './catalog.js';
import { findingAt, printable, type WorkloadFinding } from './finding.js';
import type { ContainerAt, WorkloadObject } from './pods.js';

// YAML 1.1 booleans, which Kubernetes' decoder (go-yaml v2 via sigs.k8s.io/yaml) reads
// as booleans while a YAML 1.2 parser keeps them as strings.
const TRUE_WORDS = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'true', 'True', 'TRUE']);
const FALSE_WORDS = new Set(['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF', 'false', 'False', 'FALSE']);

/** True for `true` and YAML 1.1 true words. @internal */
export function yamlTrue(v: unknown): boolean {
  return v === true || (typeof v === 'string' && TRUE_WORDS.has(v));
}

/** True for `false` and YAML 1.1 false words. @internal */
export function yamlFalse(v: unknown): boolean {
  return v === false || (typeof v === 'string' && FALSE_WORDS.has(v));
}

/** Strings of a list field (non-strings dropped). @internal */
export function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** The evaluation context. @internal */
export interface Ctx {
  chart: string;
  severity(rule: WorkloadRuleId, fallback?: Severity): Severity;
  out: WorkloadFinding[];
  allowed?: (ref: string) => boolean;
  /** automountServiceAccountToken of ServiceAccounts in the stream, by `namespace/name` and by name. */
  serviceAccounts: Map<string, unknown>;
}

/** Records a finding of `rule` on `o`. @internal */
export function emit(
  ctx: Ctx,
  o: WorkloadObject,
  rule: WorkloadRuleId,
  message: string,
  extra: Partial<WorkloadFinding> = {},
  severity?: Severity,
): void {
  const def = RULES.get(rule) as WorkloadRule;
  const base: Partial<WorkloadFinding> & Pick<WorkloadFinding, 'rule' | 'severity' | 'message'> = {
    rule,
    severity: ctx.severity(rule, severity),
    // Names, paths and values come from the chart: no terminal escapes or line breaks.
    message: printable(message),
  };
  if (def.trivyIds.length === 1) base.trivyId = def.trivyIds[0] as string;
  if (def.pss) base.pss = def.pss;
  const f = findingAt(o, { ...base, ...extra }, ctx.chart);
  if (f.field !== undefined && o.at) f.field = `${o.at}.${f.field}`;
  ctx.out.push(f);
}

/** Location fields of a container finding. @internal */
export function containerExtra(c: ContainerAt, field: string): Partial<WorkloadFinding> {
  const extra: Partial<WorkloadFinding> = { containerKind: c.containerKind, field: `${c.path}${field}` };
  if (typeof c.container.name === 'string') extra.container = c.container.name;
  return extra;
}

/** `container 'name'`, for messages. @internal */
export function containerLabel(c: ContainerAt): string {
  return `${c.containerKind} '${typeof c.container.name === 'string' ? c.container.name : '?'}'`;
}
