/**
 * Template function tables: Sprig v3.3.0 (`sprigFuncs`) and Helm v4.1.4's function
 * map (`helmFuncs`) without the engine-bound `include`, `tpl` (and `lookup`'s cluster
 * access). See docs/rendering.md ("Functions") for exactness notes.
 * @internal
 */
import { type FuncMap, type GoMap, goFunc, newGoMap } from '../template/value.js';
import { certFuncs } from './certs.js';
import { collectionFuncs } from './collections.js';
import { dateFuncs } from './date.js';
import { miscFuncs } from './misc.js';
import { numericFuncs } from './numeric.js';
import { regexFuncs } from './regex.js';
import { semverFuncs } from './semver.js';
import { stringFuncs } from './strings.js';
import { toToml } from './toml.js';
import { fromToml } from './toml-parse.js';
import { sprigJsonFuncs, yamlJsonFuncs } from './yaml.js';

/** Helm's error markers around `required`/`fail` messages (pkg/engine warnWrap). */
export const HELM_ERR_START = 'HELM_ERR_START';
export const HELM_ERR_END = 'HELM_ERR_END';
const warnWrap = (msg: string): string => `${HELM_ERR_START}${msg}${HELM_ERR_END}`;

/**
 * Sprig's GenericFuncMap. `env`/`expandenv` are left out (Helm removes them too) and
 * `getHostByName` never performs DNS (it returns "" as Helm does without --enable-dns).
 */
export function sprigFuncs(): FuncMap {
  return {
    ...stringFuncs(),
    ...numericFuncs(),
    ...collectionFuncs(),
    ...sprigJsonFuncs(),
    ...regexFuncs(),
    ...semverFuncs(),
    ...dateFuncs(),
    ...miscFuncs(),
    ...certFuncs(),
  };
}

/** Names of Helm functions that need the engine and are not in {@link helmFuncs}. */
export const ENGINE_BOUND_FUNCS: readonly string[] = ['include', 'tpl'];

/**
 * Helm v4.1.4's template functions (pkg/engine/funcs.go + engine.go initFunMap) in
 * `helm template` mode (not lint mode): Sprig minus env/expandenv, Helm's YAML/JSON
 * functions, `required`, the wrapped `fail`, `lookup` answering an empty map and a
 * DNS-less `getHostByName`. `include` and `tpl` are added by the engine.
 */
export function helmFuncs(): FuncMap {
  return {
    ...sprigFuncs(),
    ...yamlJsonFuncs(),
    required: goFunc(['string', 'any'], ([warn, val]) => {
      if (val === null || val === '') throw new Error(warnWrap(warn as string));
      return val!;
    }),
    fail: goFunc(['string'], ([msg]) => {
      throw new Error(warnWrap(msg as string));
    }),
    lookup: goFunc(['string', 'string', 'string', 'string'], (): GoMap => newGoMap()),
    getHostByName: goFunc(['string'], () => ''),
    toToml: goFunc(['any'], ([v]) => toToml(v!)),
    fromToml: goFunc(['string'], ([s]) => fromToml(s as string)),
  };
}
