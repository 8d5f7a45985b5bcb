/**
 * Pod-level and container-level rules: privileges, capabilities, users, host
 * namespaces, host paths and ports, resource limits, service-account tokens, Secrets
 * in the environment, init containers.
 */
import { containerExtra, containerLabel, type Ctx, emit, strings, yamlFalse, yamlTrue } from './context.js';
import { describe } from './finding.js';
import { type ContainerAt, containersOf, get, isMap, type PodSpecAt, type WorkloadObject } from './pods.js';

function isZero(v: unknown): boolean {
  // Strings: `0` spellings a YAML 1.2 parser keeps as strings but go-yaml v2 reads as
  // the integer 0 (`0b0`, `0_0`, signed).
  return v === 0 || v === 0n || (typeof v === 'string' && /^[-+]?0(?:[bBoOxX]?[0_]*|[0_]*)$/.test(v));
}

function nonZeroPort(v: unknown): boolean {
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'string') return v.trim() !== '' && v.trim() !== '0';
  return false;
}

// Pod Security Standards baseline: capabilities that may be added.
const BASELINE_CAPS = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

const RUNTIME_SOCKETS = new Set([
  '/var/run/docker.sock',
  '/run/docker.sock',
  '/var/run/containerd/containerd.sock',
  '/run/containerd/containerd.sock',
  '/var/run/crio/crio.sock',
  '/run/crio/crio.sock',
  '/var/run/cri-dockerd.sock',
]);

/** Capability name as the runtime reads it: upper case, without `CAP_`. */
function capName(c: string): string {
  const u = c.trim().toUpperCase();
  return u.startsWith('CAP_') ? u.slice(4) : u;
}

/** Checks one pod spec of an object and its containers. @internal */
export function checkPod(ctx: Ctx, o: WorkloadObject, pod: PodSpecAt): void {
  const what = describe(o);
  const spec = pod.spec;
  for (const [key, rule] of [
    ['hostNetwork', 'host-network'],
    ['hostPID', 'host-pid'],
    ['hostIPC', 'host-ipc'],
  ] as const) {
    if (yamlTrue(spec[key])) {
      emit(ctx, o, rule, `${what} sets ${key}: true (shares the node's namespace)`, {
        field: `${pod.path}.${key}`,
      });
    }
  }
  const volumes = Array.isArray(spec.volumes) ? spec.volumes : [];
  volumes.forEach((v, i) => {
    if (!isMap(v) || !Object.hasOwn(v, 'hostPath')) return;
    const path = get(v, 'hostPath', 'path');
    const field = `${pod.path}.volumes[${i}].hostPath`;
    const detail = {
      volume: typeof v.name === 'string' ? v.name : null,
      path: typeof path === 'string' ? path : null,
    };
    if (typeof path === 'string' && RUNTIME_SOCKETS.has(path.replace(/\/+$/, ''))) {
      emit(ctx, o, 'runtime-socket', `${what} mounts the container runtime socket ${path}`, {
        field,
        detail,
      });
    } else {
      emit(ctx, o, 'host-path', `${what} mounts hostPath ${typeof path === 'string' ? path : '(no path)'}`, {
        field,
        detail,
      });
    }
  });

  const podSc = isMap(spec.securityContext) ? spec.securityContext : {};
  const containers = containersOf(pod);
  if (containers.some((c) => c.containerKind === 'initContainer')) {
    const names = containers
      .filter((c) => c.containerKind === 'initContainer')
      .map((c) => (typeof c.container.name === 'string' ? c.container.name : '?'));
    emit(
      ctx,
      o,
      'init-container',
      `${what} runs init containers before its containers: ${names.join(', ')}`,
      {
        field: `${pod.path}.initContainers`,
        detail: { containers: names },
      },
    );
  }
  for (const c of containers) checkContainer(ctx, o, c, podSc, what);
  checkAutomount(ctx, o, pod, what);
}

function checkContainer(
  ctx: Ctx,
  o: WorkloadObject,
  c: ContainerAt,
  podSc: Record<string, unknown>,
  what: string,
): void {
  const sc = isMap(c.container.securityContext) ? c.container.securityContext : {};
  const label = `${containerLabel(c)} of ${what}`;
  if (yamlTrue(sc.privileged)) {
    emit(
      ctx,
      o,
      'privileged-container',
      `${label} is privileged`,
      containerExtra(c, '.securityContext.privileged'),
    );
  }
  // Ephemeral containers cannot be given allowPrivilegeEscalation by charts' authors in
  // practice, but the field exists on them too; Trivy checks containers and init containers.
  if (!yamlFalse(sc.allowPrivilegeEscalation)) {
    emit(
      ctx,
      o,
      'privilege-escalation',
      `${label} does not set securityContext.allowPrivilegeEscalation: false`,
      containerExtra(c, '.securityContext.allowPrivilegeEscalation'),
    );
  }
  const added = strings(get(sc, 'capabilities', 'add')).map(capName);
  if (added.length > 0) {
    const field = '.securityContext.capabilities.add';
    const sysAdmin = added.filter((x) => x === 'SYS_ADMIN' || x === 'ALL');
    if (sysAdmin.length > 0) {
      emit(ctx, o, 'capability-sys-admin', `${label} adds ${sysAdmin.join(', ')}`, {
        ...containerExtra(c, field),
        detail: { capabilities: sysAdmin },
      });
    }
    if (added.includes('SYS_MODULE')) {
      emit(ctx, o, 'capability-sys-module', `${label} adds SYS_MODULE`, {
        ...containerExtra(c, field),
        detail: { capabilities: ['SYS_MODULE'] },
      });
    }
    if (added.includes('NET_RAW')) {
      emit(ctx, o, 'capability-net-raw', `${label} adds NET_RAW`, {
        ...containerExtra(c, field),
        detail: { capabilities: ['NET_RAW'] },
      });
    }
    const others = [
      ...new Set(
        added.filter(
          (x) => !BASELINE_CAPS.has(x) && !['SYS_ADMIN', 'ALL', 'SYS_MODULE', 'NET_RAW'].includes(x),
        ),
      ),
    ];
    if (others.length > 0) {
      emit(ctx, o, 'capability-added', `${label} adds ${others.join(', ')}`, {
        ...containerExtra(c, field),
        detail: { capabilities: others },
      });
    }
  }
  // Pod-level runAsNonRoot/runAsUser apply unless the container sets its own.
  const nonRoot =
    Object.hasOwn(sc, 'runAsNonRoot') && sc.runAsNonRoot !== null ? sc.runAsNonRoot : podSc.runAsNonRoot;
  if (!yamlTrue(nonRoot)) {
    emit(
      ctx,
      o,
      'run-as-root',
      `${label} may run as root (runAsNonRoot is not true for it or its pod)`,
      containerExtra(c, '.securityContext.runAsNonRoot'),
    );
  }
  // A null field is unset: the pod's value applies.
  const uidFromContainer = Object.hasOwn(sc, 'runAsUser') && sc.runAsUser !== null;
  const uid = uidFromContainer ? sc.runAsUser : podSc.runAsUser;
  if (isZero(uid)) {
    emit(
      ctx,
      o,
      'run-as-uid-0',
      `${label} runs as UID 0${uidFromContainer ? '' : ' (from the pod securityContext)'}`,
      {
        ...containerExtra(c, '.securityContext.runAsUser'),
      },
    );
  }
  const ports = Array.isArray(c.container.ports) ? c.container.ports : [];
  ports.forEach((p, i) => {
    if (isMap(p) && nonZeroPort(p.hostPort)) {
      emit(ctx, o, 'host-port', `${label} binds host port ${String(p.hostPort)}`, {
        ...containerExtra(c, `.ports[${i}].hostPort`),
        detail: { hostPort: typeof p.hostPort === 'bigint' ? Number(p.hostPort) : p.hostPort },
      });
    }
  });
  if (c.containerKind !== 'ephemeralContainer') {
    const limits = get(c.container, 'resources', 'limits');
    for (const [res, rule] of [
      ['cpu', 'cpu-limits'],
      ['memory', 'memory-limits'],
    ] as const) {
      if (!isMap(limits) || !Object.hasOwn(limits, res) || limits[res] === null) {
        emit(
          ctx,
          o,
          rule,
          `${label} sets no resources.limits.${res}`,
          containerExtra(c, `.resources.limits.${res}`),
        );
      }
    }
  }
  const secretRefs: string[] = [];
  const env = Array.isArray(c.container.env) ? c.container.env : [];
  for (const e of env) {
    const name = get(e, 'valueFrom', 'secretKeyRef', 'name');
    if (isMap(get(e, 'valueFrom', 'secretKeyRef'))) secretRefs.push(typeof name === 'string' ? name : '?');
  }
  const envFrom = Array.isArray(c.container.envFrom) ? c.container.envFrom : [];
  for (const e of envFrom) {
    const name = get(e, 'secretRef', 'name');
    if (isMap(get(e, 'secretRef'))) secretRefs.push(typeof name === 'string' ? name : '?');
  }
  if (secretRefs.length > 0) {
    const unique = [...new Set(secretRefs)];
    emit(ctx, o, 'secret-env', `${label} reads environment from Secret(s) ${unique.join(', ')}`, {
      ...containerExtra(c, ''),
      detail: { secrets: unique },
    });
  }
}

function checkAutomount(ctx: Ctx, o: WorkloadObject, pod: PodSpecAt, what: string): void {
  const own = pod.spec.automountServiceAccountToken;
  const saName =
    typeof pod.spec.serviceAccountName === 'string' && pod.spec.serviceAccountName !== ''
      ? pod.spec.serviceAccountName
      : typeof pod.spec.serviceAccount === 'string' && pod.spec.serviceAccount !== ''
        ? pod.spec.serviceAccount
        : 'default';
  const field = `${pod.path}.automountServiceAccountToken`;
  const detail = { serviceAccount: saName };
  if (yamlTrue(own)) {
    emit(
      ctx,
      o,
      'automount-service-account-token',
      `${what} mounts its service-account token (automountServiceAccountToken: true)`,
      {
        field,
        detail,
      },
    );
    return;
  }
  if (yamlFalse(own)) return;
  const key = o.namespace !== undefined ? `${o.namespace}/${saName}` : undefined;
  const sa =
    key !== undefined && ctx.serviceAccounts.has(key)
      ? ctx.serviceAccounts.get(key)
      : ctx.serviceAccounts.get(saName);
  if (yamlFalse(sa)) return;
  emit(
    ctx,
    o,
    'automount-service-account-token',
    `${what} mounts the token of service account '${saName}' by default (automountServiceAccountToken unset)`,
    { field, detail },
    'low',
  );
}
