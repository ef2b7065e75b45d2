import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ReportsService } from '../../services/reports.js';
import { eraReportRoute } from './reports/era-report.js';
import { summaryRoute } from './reports/summary.js';

/** The public transparency reports, one route per file under reports/ (schemas beside their handler). */
export const reportRoutes: FastifyPluginAsyncZod<{ reports: ReportsService }> = async (app, options) => {
  await app.register(eraReportRoute, options);
  await app.register(summaryRoute, options);
};
