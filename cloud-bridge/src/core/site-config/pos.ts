import { z } from 'zod';

/** One POS system of the park (a restaurant, a shop): its own key, configured as SHA-256 only. */
export const PosSourceSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'letters, digits, _ and - (1–40)'),
    name: z.string().min(1).max(100).optional(),
    /** SHA-256 (hex) of the source's API key: a leaked config does not leak keys. */
    apiKeySha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'expected the SHA-256 of the API key as 64 hex digits (store the hash, never the key)')
      .transform((s) => s.toLowerCase()),
  })
  .strict();

/** cloud.yaml sites[].pos (#19, docs/visitor-data/pos.md): the park's POS systems. */
export const PosConfigSchema = z
  .object({ sources: z.array(PosSourceSchema).min(1) })
  .strict()
  .superRefine((c, ctx) => {
    c.sources.forEach((s, i) => {
      const j = c.sources.findIndex((o) => o.id === s.id);
      if (j < i) ctx.addIssue({ code: 'custom', path: ['sources', i, 'id'], message: `same id as sources[${j}]` });
      const k = c.sources.findIndex((o) => o.apiKeySha256 === s.apiKeySha256);
      if (k < i) ctx.addIssue({ code: 'custom', path: ['sources', i, 'apiKeySha256'], message: `same API key hash as sources[${k}] ("${c.sources[k]!.id}"); each POS needs its own key` });
    });
  });

export type PosConfig = z.output<typeof PosConfigSchema>;
export type PosSource = PosConfig['sources'][number];
