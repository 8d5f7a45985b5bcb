import { coreServices, createBackendPlugin } from '@backstage/backend-plugin-api';
import { chartproofRegistryServiceRef } from './registry';
import { createRouter } from './router';
import { readSettings } from './settings';

/**
 * The chartproof backend plugin: `POST /verify` (a chart's signature),
 * `POST /audit` (Helm releases from a posted Secret list) and `GET /health`, mounted
 * at `/api/chartproof`. Every route but `/health` needs Backstage credentials.
 */
export const chartproofPlugin = createBackendPlugin({
  pluginId: 'chartproof',
  register(env) {
    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        httpRouter: coreServices.httpRouter,
        client: chartproofRegistryServiceRef,
      },
      async init({ config, logger, httpRouter, client }) {
        const settings = readSettings(config);
        logger.info(`chartproof: trusting ${settings.trust.registries.join(', ')}`);
        httpRouter.use(createRouter({ settings, client, logger }));
        httpRouter.addAuthPolicy({ path: '/health', allow: 'unauthenticated' });
      },
    });
  },
});
