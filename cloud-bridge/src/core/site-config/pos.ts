import { z } from 'zod';

/** cloud.yaml sites[].pos (#19, docs/visitor-data.md). */
export const PosConfigSchema = z.object({}).strict();

export type PosConfig = z.output<typeof PosConfigSchema>;
