/**
 * Media types of the OCI image and distribution specs, Docker's schema 2, Helm and
 * cosign.
 * @public
 */
export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciArtifactManifest: 'application/vnd.oci.artifact.manifest.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  HelmConfig: 'application/vnd.cncf.helm.config.v1+json',
  HelmChartContent: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
  HelmProvenance: 'application/vnd.cncf.helm.chart.provenance.v1.prov',
  CosignSimpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
  SigstoreBundleV03: 'application/vnd.dev.sigstore.bundle.v0.3+json',
} as const;

/** Manifest media types requested by default (`Accept`) and recognised as manifests. @public */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  MediaType.OciManifest,
  MediaType.OciIndex,
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
  MediaType.OciArtifactManifest,
];

/** True for manifest (not blob) media types. @public */
export function isManifestMediaType(mediaType: string): boolean {
  return MANIFEST_MEDIA_TYPES.includes(stripParameters(mediaType));
}

/** True for index / manifest-list media types. @public */
export function isIndexMediaType(mediaType: string): boolean {
  const m = stripParameters(mediaType);
  return m === MediaType.OciIndex || m === MediaType.DockerManifestList;
}

/** Removes `; parameters` from a media type. */
export function stripParameters(mediaType: string): string {
  return mediaType.split(';', 1)[0]!.trim().toLowerCase();
}
