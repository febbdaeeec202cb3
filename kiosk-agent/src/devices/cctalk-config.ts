/** The cash devices' config section, validated once at start; every error is reported with its path. */
import { z } from 'zod';

const address = z.number().int().min(2).max(255);

export const CashDevicesSchema = z
  .object({
    /** The ccTalk line: a USB–ccTalk adapter, /dev/ttyUSB0 or a /dev/serial/by-id/… link. */
    path: z.string().min(1),
    baudRate: z.number().int().positive().default(9600),
    timeoutMs: z.number().int().min(10).max(5000).default(100),
    retries: z.number().int().min(0).max(5).default(2),
    /** Single-wire ccTalk (the host hears its own requests); most USB adapters filter the echo out. */
    echo: z.boolean().default(false),
    billValidator: z
      .object({
        address: address.default(40),
        // Each note waits one poll to be seen held and one to be seen stacked: 100 ms keeps a cash
        // sale under a second; a poll and its answer are ~22 ms of a 9600-baud line.
        pollMs: z.number().int().min(50).max(2000).default(100),
        country: z.string().regex(/^[A-Z]{2}$/).default('CN'),
        escrowTimeoutMs: z.number().int().min(1000).max(120_000).default(30_000),
        settleTimeoutMs: z.number().int().min(500).max(60_000).default(5000),
      })
      .strict()
      .prefault({}),
    /** null: a kiosk without a hopper gives no change (the sale flow must then ask for exact cash). */
    hopper: z
      .object({
        address: address.default(3),
        coinFen: z.number().int().positive().default(100),
        pollMs: z.number().int().min(10).max(1000).default(100),
        coinTimeoutMs: z.number().int().min(100).max(10_000).default(1000),
      })
      .strict()
      .nullable()
      .prefault({}),
  })
  .strict()
  .refine((c) => c.hopper === null || c.hopper.address !== c.billValidator.address, { message: 'bill validator and hopper need different addresses', path: ['hopper', 'address'] });

export type CashDevicesConfig = z.infer<typeof CashDevicesSchema>;
export type CashDevicesInput = z.input<typeof CashDevicesSchema>;

export type CashConfigResult = { ok: true; config: CashDevicesConfig } | { ok: false; errors: { path: string; message: string }[] };

export function parseCashConfig(input: unknown): CashConfigResult {
  const r = CashDevicesSchema.safeParse(input);
  if (r.success) return { ok: true, config: r.data };
  return { ok: false, errors: r.error.issues.map((i) => ({ path: i.path.join('.') || '(root)', message: i.message })) };
}
