import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { HeadsService } from '../../services/heads.js';
import type { ReportsService } from '../../services/reports.js';
import { eraReportRoute } from './reports/era-report.js';
import { headsRoute } from './reports/heads.js';
import { summaryRoute } from './reports/summary.js';

/** The public transparency reports, and the chains' heads, one route per file under reports/ (schemas beside their handler). */
export const reportRoutes: FastifyPluginAsyncZod<{ reports: ReportsService; heads: HeadsService }> = async (app, options) => {
  await app.register(eraReportRoute, options);
  await app.register(summaryRoute, options);
  await app.register(headsRoute, options);
};
