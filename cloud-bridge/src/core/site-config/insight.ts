import { z } from 'zod';

/** cloud.yaml sites[].insight (#19, docs/visitor-data.md). */
export const InsightConfigSchema = z.object({}).strict();

export type InsightConfig = z.output<typeof InsightConfigSchema>;
