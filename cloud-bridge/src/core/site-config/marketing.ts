import { z } from 'zod';

/** cloud.yaml sites[].marketing (#19, docs/visitor-data.md). */
export const MarketingConfigSchema = z.object({}).strict();

export type MarketingConfig = z.output<typeof MarketingConfigSchema>;
