/**
 * Helm's `Chart.lock` top-level digests: `HashReq` (Helm 3 and 4) and the Helm 2
 * compatibility `HashV2Req`, byte for byte.
 */
import type { ChartDependency } from '../chart/types.js';
import { goJsonStruct, goJsonValue, utf8Bytes } from '../internal/encoding/go-json.js';
import { digestOf } from '../oci/digest.js';

/**
 * Encodes one dependency as Go's `json.Marshal` encodes Helm's `Dependency` struct:
 * fields `name, version?, repository, condition?, tags?, enabled?, import-values?,
 * alias?` in that order (`?` = `omitempty`), HTML-safe string escaping.
 * @internal
 */
export function dependencyJson(dep: ChartDependency | null | undefined): string {
  if (dep === null || dep === undefined) return 'null'; // nil *Dependency
  return goJsonStruct([
    ['name', dep.name ?? '', false],
    ['version', dep.version, true],
    ['repository', dep.repository ?? '', false],
    ['condition', dep.condition, true],
    ['tags', dep.tags, true],
    ['enabled', dep.enabled, true],
    ['import-values', dep['import-values'], true],
    ['alias', dep.alias, true],
  ]);
}

/** `[]*Dependency`: `undefined` is a nil slice and encodes as `null`. */
function dependencyListJson(list: readonly (ChartDependency | null)[] | undefined): string {
  if (list === undefined || list === null) return 'null';
  return `[${list.map((d) => dependencyJson(d)).join(',')}]`;
}

/**
 * The exact JSON that Helm's `HashReq` hashes: `json.Marshal([2][]*Dependency{req, lock})`.
 * @internal
 */
export function hashReqPreimage(
  req: readonly ChartDependency[] | undefined,
  lock: readonly ChartDependency[] | undefined,
): string {
  return `[${dependencyListJson(req)},${dependencyListJson(lock)}]`;
}

/**
 * The exact JSON that Helm's `HashV2Req` hashes:
 * `json.Marshal(map[string][]*Dependency{"dependencies": req})`.
 * @internal
 */
export function hashV2ReqPreimage(req: readonly ChartDependency[] | undefined): string {
  return `{${goJsonValue('dependencies')}:${dependencyListJson(req)}}`;
}

function sha256Digest(json: string): string {
  return digestOf(utf8Bytes(json));
}

/**
 * Helm's `HashReq`: the `Chart.lock` `digest` for the dependencies declared in
 * `Chart.yaml` (`req`) and the resolved ones in the lock (`lock`). Returns
 * `sha256:<lowercase hex>` of the Go JSON encoding of `[req, lock]`; an `undefined`
 * list encodes as `null` (a nil slice), an empty array as `[]`.
 *
 * Helm computes `req` after rewriting `@repo` / `alias:repo` repositories to their
 * URLs from `repositories.yaml`; pass the dependencies in that form to match.
 * @public
 */
export function hashReq(req: ChartDependency[] | undefined, lock: ChartDependency[] | undefined): string {
  return sha256Digest(hashReqPreimage(req, lock));
}

/**
 * Helm's `HashV2Req`: the digest a Helm 2 `requirements.lock` carries, computed from
 * the declared dependencies alone (`{"dependencies": req}`, before repository names
 * are resolved). Helm accepts it only for apiVersion v1 charts. Returns
 * `sha256:<lowercase hex>`.
 * @public
 */
export function hashV2Req(req: ChartDependency[] | undefined): string {
  return sha256Digest(hashV2ReqPreimage(req));
}
