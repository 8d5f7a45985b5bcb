import { coreServices, createServiceFactory, createServiceRef } from '@backstage/backend-plugin-api';
import { RegistryClient } from 'chartproof/oci';

/**
 * The OCI registry client the plugin uses. The default factory builds one from the
 * `chartproof.registry` config (`plainHttp`, `insecureSkipTlsVerify`, `ca`) and closes
 * its connection pools when the plugin shuts down; tests and adopters replace it with
 * their own factory (credentials, an in-memory registry).
 */
export const chartproofRegistryServiceRef = createServiceRef<RegistryClient>({
  id: 'chartproof.registry',
  scope: 'plugin',
  defaultFactory: async (service) =>
    createServiceFactory({
      service,
      deps: { config: coreServices.rootConfig, lifecycle: coreServices.lifecycle },
      factory({ config, lifecycle }) {
        const plainHttp = config.getOptionalBoolean('chartproof.registry.plainHttp') ?? false;
        const insecureSkipTlsVerify =
          config.getOptionalBoolean('chartproof.registry.insecureSkipTlsVerify') ?? false;
        const ca = config.getOptionalString('chartproof.registry.ca');
        const client = new RegistryClient({
          plainHttp,
          insecureSkipTlsVerify,
          ...(ca ? { ca } : {}),
        });
        lifecycle.addShutdownHook(() => client.close());
        return client;
      },
    }),
});
