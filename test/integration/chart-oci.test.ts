import { HELM_VECTORS as VECTORS } from '../helpers/vectors.js';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadChartArchive } from '../../src/chart/load.js';
import { pullChart, pushChart } from '../../src/chart/oci.js';
import { RegistryClient } from '../../src/oci/index.js';
import { type StartedRegistry, startDockerRegistry } from '../helpers/docker-registry.js';
import { requireTool } from '../helpers/services.js';
import { skopeoCopy, skopeoInspectRaw } from '../helpers/skopeo.js';

const haveVectors = existsSync(VECTORS);
if (!haveVectors) console.warn(`chart OCI interop skipped: Helm vectors not found at ${VECTORS}`);
const missing =
  requireTool('docker-registry') ?? requireTool('skopeo') ?? (haveVectors ? undefined : 'no vectors');
const GOLDEN_DIGEST = 'sha256:fbbade96da6050f68f94f122881e3b80051a18f13ab5f4081868dd494538f5c2';

describe.skipIf(missing !== undefined)('Helm OCI charts against docker-registry and skopeo', () => {
  let reg: StartedRegistry;
  let client: RegistryClient;
  beforeAll(async () => {
    reg = await startDockerRegistry('plain');
    client = new RegistryClient({ plainHttp: true });
  });
  afterAll(async () => {
    await client?.close();
    await reg?.stop();
  });

  it('pushes Helm-identical bytes that skopeo copies intact, and pulls what skopeo wrote', async () => {
    const archive = await readFile(join(VECTORS, 'pkg/downloader/testdata/signtest-0.1.0.tgz'));
    const provenance = await readFile(join(VECTORS, 'pkg/downloader/testdata/signtest-0.1.0.tgz.prov'));
    const chart = await loadChartArchive(archive);
    const pushed = await pushChart(client, archive, chart.metadata, `oci://${reg.host}/charts`, {
      creationTime: '1977-09-02T22:04:05Z',
      provenance,
    });
    expect(pushed.digest).toBe(GOLDEN_DIGEST);
    const raw = await skopeoInspectRaw(`docker://${reg.host}/charts/signtest:0.1.0`, { tlsVerify: false });
    expect(raw.equals(Buffer.from(pushed.manifest))).toBe(true);

    await skopeoCopy(
      `docker://${reg.host}/charts/signtest:0.1.0`,
      `docker://${reg.host}/copied/signtest:0.1.0`,
      {
        src: { tlsVerify: false },
        dest: { tlsVerify: false },
        extra: ['--preserve-digests'],
      },
    );
    const pulled = await pullChart(client, `oci://${reg.host}/copied/signtest`, {
      version: '0.1.0',
      provenance: true,
    });
    expect(pulled.manifestDigest).toBe(GOLDEN_DIGEST);
    expect(Buffer.from(pulled.archive).equals(archive)).toBe(true);
    expect(Buffer.from(pulled.provenance!).equals(provenance)).toBe(true);
  });
});
