import { z } from 'zod';

/** cloud.yaml sites[].partners (#19, docs/visitor-data.md). */
export const PartnersConfigSchema = z.object({}).strict();

export type PartnersConfig = z.output<typeof PartnersConfigSchema>;
