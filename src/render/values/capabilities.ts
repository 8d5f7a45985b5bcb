/**
 * `.Capabilities` and `.Release` as `helm template` (Helm v4.1.4 release build) fills
 * them, `--kube-version` parsing (`common.ParseKubeVersion`) and the chart
 * `kubeVersion` check.
 */
import type { Chart } from '../../chart/types.js';
import { GO_METHODS } from '../template/methods.js';
import { type GoFunc, type GoMap, GoStruct, type GoValue, goFunc } from '../template/value.js';
import { isCompatibleRange } from './dependencies.js';
import { fail, newMap, setKey } from './go.js';

/** Helm's `common.KubeVersion`. @public */
export interface KubeVersion {
  /** As given, `v`-prefixed (`v1.33.4-gke.1245000`); also `GitVersion`. */
  readonly version: string;
  /** Normalised for constraint checks (`v1.33.4`): what `String()` returns. */
  readonly normalizedVersion: string;
  readonly major: string;
  readonly minor: string;
}

/** Helm's `version.BuildInfo` (`.Capabilities.HelmVersion`). @public */
export interface HelmBuildInfo {
  readonly version: string;
  readonly gitCommit: string;
  readonly gitTreeState: string;
  readonly goVersion: string;
  readonly kubeClientVersion: string;
}

/** Helm's `common.Capabilities` as plain data. @public */
export interface Capabilities {
  readonly kubeVersion: KubeVersion;
  /** `common.VersionSet`: group/version strings (and whatever `--api-versions` adds). */
  readonly apiVersions: readonly string[];
  readonly helmVersion: HelmBuildInfo;
}

/**
 * The API versions of Helm v4.1.4's default `VersionSet` (client-go v1.35 scheme plus
 * apiextensions v1beta1/v1), in Helm's order. Source: the real binary's output
 * (helm-v4.1.4-realworld corpus, `capabilities-probe-defaults`).
 * @public
 */
export const HELM_DEFAULT_API_VERSIONS: readonly string[] = Object.freeze([
  'v1',
  'admissionregistration.k8s.io/v1',
  'admissionregistration.k8s.io/v1alpha1',
  'admissionregistration.k8s.io/v1beta1',
  'internal.apiserver.k8s.io/v1alpha1',
  'apps/v1',
  'apps/v1beta1',
  'apps/v1beta2',
  'authentication.k8s.io/v1',
  'authentication.k8s.io/v1alpha1',
  'authentication.k8s.io/v1beta1',
  'authorization.k8s.io/v1',
  'authorization.k8s.io/v1beta1',
  'autoscaling/v1',
  'autoscaling/v2',
  'autoscaling/v2beta1',
  'autoscaling/v2beta2',
  'batch/v1',
  'batch/v1beta1',
  'certificates.k8s.io/v1',
  'certificates.k8s.io/v1beta1',
  'certificates.k8s.io/v1alpha1',
  'coordination.k8s.io/v1alpha2',
  'coordination.k8s.io/v1beta1',
  'coordination.k8s.io/v1',
  'discovery.k8s.io/v1',
  'discovery.k8s.io/v1beta1',
  'events.k8s.io/v1',
  'events.k8s.io/v1beta1',
  'extensions/v1beta1',
  'flowcontrol.apiserver.k8s.io/v1',
  'flowcontrol.apiserver.k8s.io/v1beta1',
  'flowcontrol.apiserver.k8s.io/v1beta2',
  'flowcontrol.apiserver.k8s.io/v1beta3',
  'networking.k8s.io/v1',
  'networking.k8s.io/v1beta1',
  'node.k8s.io/v1',
  'node.k8s.io/v1alpha1',
  'node.k8s.io/v1beta1',
  'policy/v1',
  'policy/v1beta1',
  'rbac.authorization.k8s.io/v1',
  'rbac.authorization.k8s.io/v1beta1',
  'rbac.authorization.k8s.io/v1alpha1',
  'resource.k8s.io/v1',
  'resource.k8s.io/v1beta2',
  'resource.k8s.io/v1beta1',
  'resource.k8s.io/v1alpha3',
  'scheduling.k8s.io/v1alpha1',
  'scheduling.k8s.io/v1beta1',
  'scheduling.k8s.io/v1',
  'storage.k8s.io/v1beta1',
  'storage.k8s.io/v1',
  'storage.k8s.io/v1alpha1',
  'storagemigration.k8s.io/v1beta1',
  'apiextensions.k8s.io/v1beta1',
  'apiextensions.k8s.io/v1',
]);

/** `.Capabilities.HelmVersion` of the official Helm v4.1.4 linux/amd64 build. @public */
export const HELM_BUILD_INFO: HelmBuildInfo = Object.freeze({
  version: 'v4.1.4',
  gitCommit: '05fa37973dc9e42b76e1d2883494c87174b6074f',
  gitTreeState: 'clean',
  goVersion: 'go1.25.9',
  kubeClientVersion: 'v1.35',
});

/** Default `.Capabilities.KubeVersion` of the Helm v4.1.4 release build (client-go v0.35 → v1.35.0). @public */
export const HELM_DEFAULT_KUBE_VERSION: KubeVersion = Object.freeze({
  version: 'v1.35.0',
  normalizedVersion: 'v1.35.0',
  major: '1',
  minor: '35',
});

const GENERIC_VERSION = /^\s*v?([0-9]+(?:\.[0-9]+)*)(.*)*$/s;

/**
 * Helm's `common.ParseKubeVersion` (k8s `version.ParseGeneric`): at least
 * `major.minor`, no zero-prefixed major, anything after the numbers ignored for
 * the normalised version; `Version` keeps the input, `v`-prefixed.
 * @throws ChartproofError `INVALID_ARGUMENT` with `helm template`'s message
 *   (`invalid kube version '<s>': illegal version string "<s>"`).
 * @public
 */
export function parseKubeVersion(input: string): KubeVersion {
  const bad = (why: string): never => fail('INVALID_ARGUMENT', `invalid kube version '${input}': ${why}`);
  const m = GENERIC_VERSION.exec(input);
  if (!m) return bad(`could not parse ${JSON.stringify(input)} as version`);
  const components = (m[1] as string).split('.');
  if (components.length < 2) return bad(`illegal version string ${JSON.stringify(input)}`);
  const nums: bigint[] = [];
  components.forEach((comp, i) => {
    if (i === 0 && comp.startsWith('0') && comp !== '0') {
      bad(`illegal zero-prefixed version component ${JSON.stringify(comp)} in ${JSON.stringify(input)}`);
    }
    const n = BigInt(comp);
    if (n > 0xffffffffffffffffn) {
      bad(
        `illegal non-numeric version component ${JSON.stringify(comp)} in ${JSON.stringify(input)}: strconv.ParseUint: parsing ${JSON.stringify(comp)}: value out of range`,
      );
    }
    nums.push(n);
  });
  return {
    version: input.startsWith('v') ? input : `v${input}`,
    normalizedVersion: `v${nums.join('.')}`,
    major: (nums[0] as bigint).toString(),
    minor: (nums[1] as bigint).toString(),
  };
}

/** Options of {@link defaultCapabilities}. @public */
export interface CapabilitiesOptions {
  /** `--kube-version` text (parsed with {@link parseKubeVersion}). */
  kubeVersion?: string;
  /** `--api-versions`, appended verbatim after the defaults (split commas beforehand, as the CLI does). */
  apiVersions?: readonly string[];
}

/**
 * `.Capabilities` of `helm template` in Helm v4.1.4: `DefaultCapabilities` with the
 * `--kube-version` override and `--api-versions` appended.
 * @public
 */
export function defaultCapabilities(opts: CapabilitiesOptions = {}): Capabilities {
  return {
    kubeVersion:
      opts.kubeVersion !== undefined ? parseKubeVersion(opts.kubeVersion) : HELM_DEFAULT_KUBE_VERSION,
    apiVersions: [...HELM_DEFAULT_API_VERSIONS, ...(opts.apiVersions ?? [])],
    helmVersion: HELM_BUILD_INFO,
  };
}

/**
 * Helm's render-time check of the top chart's `kubeVersion` constraint
 * (`renderResources`): Masterminds range against the normalised version.
 * @throws ChartproofError `CHART_INVALID`
 *   `chart requires kubeVersion: <c> which is incompatible with Kubernetes <Version>`.
 * @public
 */
export function checkKubeVersion(chart: Chart, caps: Capabilities): void {
  const constraint = chart.metadata.kubeVersion ?? '';
  if (constraint === '') return;
  if (!isCompatibleRange(constraint, caps.kubeVersion.normalizedVersion)) {
    fail(
      'CHART_INVALID',
      `chart requires kubeVersion: ${constraint} which is incompatible with Kubernetes ${caps.kubeVersion.version}`,
    );
  }
}

/** Helm's `common.ReleaseOptions` (what `helm template` sets). @public */
export interface ReleaseOptions {
  name: string;
  namespace: string;
  /** Default 1. */
  revision?: number;
  /** `--is-upgrade`: IsUpgrade true, IsInstall false. */
  isUpgrade?: boolean;
}

/**
 * `.Release` as Helm v4.1.4 builds it (a `map[string]interface{}`, `Revision` an int):
 * `{Name, Namespace, IsUpgrade, IsInstall, Revision, Service: "Helm"}`.
 * @public
 */
export function releaseValue(opts: ReleaseOptions): GoMap {
  const m = newMap();
  const upgrade = opts.isUpgrade === true;
  setKey(m, 'Name', opts.name);
  setKey(m, 'Namespace', opts.namespace);
  setKey(m, 'IsUpgrade', upgrade);
  setKey(m, 'IsInstall', !upgrade);
  setKey(m, 'Revision', BigInt.asIntN(64, BigInt(opts.revision ?? 1)));
  setKey(m, 'Service', 'Helm');
  return m;
}

function jsonStr(s: string): string {
  return JSON.stringify(s);
}

/**
 * `common.KubeVersion` for templates: fields `Version`, `Major`, `Minor` and the
 * `GitVersion` method. `%v` prints Go's `{Version normalizedVersion Major Minor}`
 * (unexported field included); JSON has the three exported fields. Helm's
 * `String()` has a pointer receiver, so only addressable uses (a field printed
 * directly by the template, `{{ .Capabilities.KubeVersion }}`) print the normalised
 * version: {@link KubeVersionStruct.addressableString} gives it to the engine.
 * @public
 */
export class KubeVersionStruct extends GoStruct {
  readonly #kv: KubeVersion;
  constructor(kv: KubeVersion) {
    super(
      'common.KubeVersion',
      [
        ['Version', kv.version],
        ['Major', kv.major],
        ['Minor', kv.minor],
      ],
      [['GitVersion', goFunc([], () => kv.version)]],
    );
    this.#kv = kv;
  }
  /** Fields in declaration order, for `%v` (includes the unexported `normalizedVersion`). */
  override fieldNames(): string[] {
    return ['Version', 'normalizedVersion', 'Major', 'Minor'];
  }
  override field(name: string): GoValue | undefined {
    // normalizedVersion is visible to %v printing only (Go refuses unexported fields in templates).
    if (name === 'normalizedVersion') return this.#kv.normalizedVersion;
    return super.field(name);
  }
  /** `(*KubeVersion).String()`. */
  addressableString(): string {
    return this.#kv.normalizedVersion;
  }
  marshalJSON(): string {
    return `{"Version":${jsonStr(this.#kv.version)},"Major":${jsonStr(this.#kv.major)},"Minor":${jsonStr(this.#kv.minor)}}`;
  }
}

/** `version.BuildInfo` for templates; JSON uses Helm's tags (`git_commit`, omitempty). @public */
export class HelmVersionStruct extends GoStruct {
  readonly #b: HelmBuildInfo;
  constructor(b: HelmBuildInfo) {
    super('version.BuildInfo', [
      ['Version', b.version],
      ['GitCommit', b.gitCommit],
      ['GitTreeState', b.gitTreeState],
      ['GoVersion', b.goVersion],
      ['KubeClientVersion', b.kubeClientVersion],
    ]);
    this.#b = b;
  }
  marshalJSON(): string {
    const parts: string[] = [];
    if (this.#b.version !== '') parts.push(`"version":${jsonStr(this.#b.version)}`);
    if (this.#b.gitCommit !== '') parts.push(`"git_commit":${jsonStr(this.#b.gitCommit)}`);
    if (this.#b.gitTreeState !== '') parts.push(`"git_tree_state":${jsonStr(this.#b.gitTreeState)}`);
    if (this.#b.goVersion !== '') parts.push(`"go_version":${jsonStr(this.#b.goVersion)}`);
    parts.push(`"kube_client_version":${jsonStr(this.#b.kubeClientVersion)}`);
    return `{${parts.join(',')}}`;
  }
}

/**
 * `common.VersionSet` for templates: a Go `[]string` (ranges, `len`, `toYaml` as a
 * list) carrying the `Has` method under the engine's method symbol.
 * @public
 */
export function versionSetValue(list: readonly string[]): GoValue[] {
  const arr: GoValue[] = [...list];
  const has: GoFunc = goFunc(['string'], (args) => list.includes(args[0] as string));
  Object.defineProperty(arr, GO_METHODS, {
    value: { typeName: 'common.VersionSet', methods: { Has: has } },
    enumerable: false,
  });
  return arr;
}

/**
 * `.Capabilities` as a Go value (`*common.Capabilities` with `KubeVersion`,
 * `APIVersions`, `HelmVersion`), ready for the render values.
 * @public
 */
export function capabilitiesValue(caps: Capabilities): GoStruct {
  return new GoStruct('*common.Capabilities', [
    ['KubeVersion', new KubeVersionStruct(caps.kubeVersion)],
    ['APIVersions', versionSetValue(caps.apiVersions)],
    ['HelmVersion', new HelmVersionStruct(caps.helmVersion)],
  ]);
}
