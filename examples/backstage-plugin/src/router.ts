import type { LoggerService } from '@backstage/backend-plugin-api';
import { isChartproofError } from 'chartproof';
import type { RegistryClient } from 'chartproof/oci';
import { auditReleases, trustPolicy } from 'chartproof/policy';
import { ChartVerificationError, verifyChart } from 'chartproof/verify';
import express, { type ErrorRequestHandler, type Request, type Response } from 'express';
import type { ChartproofSettings } from './settings';

export interface RouterOptions {
  settings: ChartproofSettings;
  client: RegistryClient;
  logger: LoggerService;
}

/** Codes that mean "the request was wrong" (400) rather than "a registry failed" (502). */
const INPUT_CODES = new Set([
  'INVALID_REFERENCE',
  'INVALID_ARGUMENT',
  'INVALID_CONFIG',
  'RELEASE_INVALID',
  'SIZE_LIMIT_EXCEEDED',
  'DEPTH_LIMIT_EXCEEDED',
]);

function fail(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

/**
 * An async route with a deadline: its signal aborts after `timeoutMs` or when the
 * client goes away; chartproof errors become JSON with a status that says whose fault
 * it was (messages are chartproof's, which never carry credentials).
 */
function route(
  timeoutMs: number,
  logger: LoggerService,
  fn: (req: Request, res: Response, signal: AbortSignal) => Promise<void>,
) {
  return (req: Request, res: Response) => {
    const gone = new AbortController();
    res.on('close', () => {
      if (!res.writableEnded) gone.abort(new Error('the client closed the connection'));
    });
    const signal = AbortSignal.any([gone.signal, AbortSignal.timeout(timeoutMs)]);
    fn(req, res, signal).catch((e: unknown) => {
      if (res.headersSent) return;
      if (isChartproofError(e)) {
        const status = INPUT_CODES.has(e.code)
          ? 400
          : e.code === 'TIMEOUT' || e.code === 'ABORTED'
            ? 504
            : 502;
        if (status !== 400) logger.warn(`chartproof: ${e.code}: ${e.message}`);
        return fail(res, status, e.code, e.message);
      }
      if (signal.aborted) return fail(res, 504, 'TIMEOUT', `the request took longer than ${timeoutMs} ms`);
      logger.error('chartproof: internal error', e instanceof Error ? e : undefined);
      fail(res, 500, 'INTERNAL', 'internal error');
    });
  };
}

/**
 * The plugin's routes:
 * - `POST /verify` `{ "reference": "oci://registry/charts/app:1.0.0" }` → 200
 *   `{ verified: true, pinned, digest, format, signatures, checks }` or 422
 *   `{ verified: false, code, message }`. Only references under the trust config's
 *   registries are looked up (the backend does not fetch from hosts a caller names).
 * - `POST /audit` with `kubectl get secrets -A -l owner=helm -o json` output → 200 and
 *   chartproof's audit report (`ok`, `summary`, `releases[].checks`).
 * - `GET /health` → `{ status: "ok" }`.
 */
export function createRouter(options: RouterOptions): express.Router {
  const { settings, client, logger } = options;
  const policy = trustPolicy(settings.trust);
  const prefixes = settings.trust.registries.map((r) => `${r}/`);
  const router = express.Router();

  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.post(
    '/verify',
    express.json({ limit: '16kb' }),
    route(settings.timeoutMs, logger, async (req, res, signal) => {
      const reference: unknown = req.body?.reference;
      if (typeof reference !== 'string' || reference === '' || reference.length > 1024)
        return fail(res, 400, 'INVALID_ARGUMENT', 'expected a JSON body {"reference": "<chart reference>"}');
      const bare = reference.replace(/^oci:\/\//, '');
      if (!prefixes.some((p) => bare.startsWith(p)))
        return fail(
          res,
          400,
          'INVALID_ARGUMENT',
          `${reference} is not under an allowed registry (${settings.trust.registries.join(', ')})`,
        );
      try {
        const v = await verifyChart(client, reference, { policy, signal });
        res.json({
          verified: true,
          reference,
          pinned: v.pinned,
          digest: v.digest,
          format: v.format,
          signatures: v.verified,
          checks: v.checks,
        });
      } catch (e) {
        if (!(e instanceof ChartVerificationError)) throw e;
        res
          .status(422)
          .json({ verified: false, reference, pinned: e.pinned, code: e.code, message: e.message });
      }
    }),
  );

  router.post(
    '/audit',
    express.raw({ type: 'application/json', limit: settings.maxAuditBytes }),
    route(settings.timeoutMs, logger, async (req, res, signal) => {
      if (!Buffer.isBuffer(req.body) || req.body.length === 0)
        return fail(
          res,
          400,
          'INVALID_ARGUMENT',
          'expected `kubectl get secrets -A -l owner=helm -o json` output as application/json',
        );
      const report = await auditReleases(
        { json: req.body, what: 'request body' },
        { trust: settings.trust, client, signal, timeoutMs: settings.timeoutMs },
      );
      res.json(report);
    }),
  );

  // Body-parser refusals (too large, not JSON) as JSON errors.
  const bodyErrors: ErrorRequestHandler = (err, _req, res, next) => {
    const status = (err as { status?: number }).status;
    if (res.headersSent || typeof status !== 'number' || status < 400 || status >= 500) return next(err);
    fail(res, status, status === 413 ? 'SIZE_LIMIT_EXCEEDED' : 'INVALID_ARGUMENT', (err as Error).message);
  };
  router.use(bodyErrors);
  return router;
}
