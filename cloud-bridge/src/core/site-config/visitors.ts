import { z } from 'zod';

/** cloud.yaml sites[].visitors (#19, docs/visitor-data.md). */
export const VisitorsConfigSchema = z.object({}).strict();

export type VisitorsConfig = z.output<typeof VisitorsConfigSchema>;
