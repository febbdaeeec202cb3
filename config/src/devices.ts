import { z } from 'zod';

/** Prefer /dev/serial/by-id/…: ttyUSB numbers change with plug order, by-id names do not. */
const serialPath = z.string().min(1, 'expected a serial device path, e.g. /dev/serial/by-id/usb-…');
const baudRate = z.number().int().refine((b) => [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400].includes(b), 'expected a standard baud rate (9600, 115200, …)');
const hexBytes = z.string().regex(/^([0-9a-fA-F]{2}\s?)+$/, 'expected hex bytes, e.g. "16 54 0d"');
const usbId = z.union([z.number().int().min(0).max(0xffff), z.string().regex(/^(0x)?[0-9a-fA-F]{4}$/, 'expected a 4-digit hex USB id, e.g. "0c2e"')]);
const inputName = z.string().min(1);
/** USB HID POS report layouts gate-agent decodes (gate-agent/src/protocol/hid-pos-layouts.ts). */
export const HID_POS_LAYOUTS = ['honeywell', 'newland', 'extra-byte'] as const;

const LineInputSchema = z
  .object({
    type: z.literal('lines'),
    /** "-" for stdin, otherwise a FIFO or file path. */
    path: z.string().min(1).default('-'),
    name: inputName.default('lines'),
    /** Treat lines "IDCARD:<number>" as ID-card taps. For simulators only: a printed QR could fake a tap. */
    simulateIdCards: z.boolean().default(false),
  })
  .strict();

const QrSerialSchema = z
  .object({
    type: z.literal('qr-serial'),
    name: inputName.default('qr-serial'),
    path: serialPath,
    baudRate: baudRate.default(9600),
    /** Line terminator the scanner is set to; "any" accepts CR, LF and CRLF. */
    suffix: z.enum(['any', 'cr', 'lf', 'crlf']).default('any'),
    /** Drop an AIM symbology prefix such as "]Q1" (the parser also tolerates it). */
    stripAim: z.boolean().default(true),
    /** Command-mode scanners: bytes that start and stop a read, sent on open/close. */
    triggerCommand: hexBytes.optional(),
    releaseCommand: hexBytes.optional(),
  })
  .strict();

const QrHidSchema = z
  .object({
    type: z.literal('qr-hid'),
    name: inputName.default('qr-hid'),
    vendorId: usbId,
    productId: usbId,
    /** HID POS (usage page 0x8C) or a keyboard-wedge scanner (boot keyboard reports). */
    mode: z.enum(['pos', 'keyboard']).default('pos'),
    /**
     * HID POS report layout, for a scanner the vendor table does not know or gets wrong:
     * honeywell (AIM id after the length), newland (data right after the length; IDTech,
     * Unitech, Quio and most Chinese OEM engines), extra-byte (one byte before the AIM id).
     * Omitted: from the report descriptor where it settles it, else from the USB vendor id.
     */
    layout: z.enum(HID_POS_LAYOUTS, { error: 'expected layout "honeywell", "newland" or "extra-byte"' }).optional(),
    /** A code whose next report does not come within this long is dropped, not glued onto the next scan. */
    reportGapMs: z.number().int().min(10).max(5000).default(100),
    /**
     * Sent on every open and reconnect, replacing the vendor table's initialisation: feature
     * reports and output reports (first byte = report id), e.g. [{ feature: "fe 01" }]; [] sends nothing.
     */
    init: z.array(z.union([z.object({ feature: hexBytes }).strict(), z.object({ output: hexBytes }).strict()])).max(16).optional(),
  })
  .strict();

const IdCardGa467Schema = z
  .object({
    type: z.literal('idcard-ga467'),
    name: inputName.default('idcard'),
    path: serialPath,
    baudRate: baudRate.default(115200),
    /** How often to look for a card. */
    pollMs: z.number().int().min(200).max(10_000).default(1000),
    /** No answer within this long counts as a reader fault. */
    timeoutMs: z.number().int().min(100).max(10_000).default(1500),
  })
  .strict();

export const InputSchema = z.discriminatedUnion('type', [LineInputSchema, QrSerialSchema, QrHidSchema, IdCardGa467Schema]);
export type InputConfig = z.infer<typeof InputSchema>;
export type LineInputConfig = z.infer<typeof LineInputSchema>;
export type QrSerialConfig = z.infer<typeof QrSerialSchema>;
export type QrHidConfig = z.infer<typeof QrHidSchema>;
export type IdCardGa467Config = z.infer<typeof IdCardGa467Schema>;

const pulse = {
  /** Dry-contact pulse length; turnstile controllers want ≥100 ms. */
  pulseMs: z.number().int().min(50).max(5000).default(200),
  /** Pause between pulses for a group ticket, one pulse per person. */
  gapMs: z.number().int().min(0).max(10000).default(200),
};

export const RelaySchema = z.discriminatedUnion('type', [
  /** Logs each pulse: the simulator backend, for demos and tests without hardware. */
  z.object({ type: z.literal('log'), ...pulse }).strict(),
  z
    .object({
      type: z.literal('gpio'),
      ...pulse,
      /** Line number as the kernel's sysfs GPIO numbers it (on newer kernels: base offset + BCM pin). */
      pin: z.number().int().min(0).max(4095),
      activeLow: z.boolean().default(false),
    })
    .strict(),
  z
    .object({
      type: z.literal('lcus'),
      ...pulse,
      path: serialPath,
      baudRate: baudRate.default(9600),
      channel: z.number().int().min(1).max(8).default(1),
    })
    .strict(),
]);
export type RelayConfig = z.infer<typeof RelaySchema>;

/** Kernel GPIO line number, as sysfs numbers it (on newer kernels: chip base + BCM pin). */
const gpioLine = z.number().int().min(0).max(4095);

/**
 * The lane's own I/O: a passage sensor (one `PASS` line per person through) and the
 * fire-alarm / emergency input (`EMERGENCY ON`, `EMERGENCY OFF`), as text lines on a
 * serial port or as GPIO inputs.
 */
export const LaneSensorSchema = z.discriminatedUnion(
  'type',
  [
    z
      .object({
        type: z.literal('serial'),
        path: serialPath,
        baudRate: baudRate.default(9600),
      })
      .strict(),
    z
      .object({
        type: z.literal('gpio'),
        /** One active edge per person through (light barrier, arm rotation switch). */
        passagePin: gpioLine.optional(),
        /** Active while the fire alarm / emergency input is on. */
        emergencyPin: gpioLine.optional(),
        activeLow: z.boolean().default(false),
        /** Contact bounce filter; one person must not count twice. */
        debounceMs: z.number().int().min(0).max(1000).default(20),
      })
      .strict(),
  ],
  { error: 'expected lane sensor type "serial" or "gpio"' },
);
export type LaneSensorConfig = z.infer<typeof LaneSensorSchema>;

/** A text display / LED + buzzer board: one line per decision. */
export const LaneDisplaySchema = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('log') }).strict(),
    z
      .object({
        type: z.literal('serial'),
        path: serialPath,
        baudRate: baudRate.default(9600),
        /** What the board's font expects; many Chinese LED controllers only take GB2312/GBK (gb18030 covers both). */
        encoding: z.enum(['utf8', 'gb18030']).default('utf8'),
      })
      .strict(),
  ],
  { error: 'expected lane display type "log" or "serial"' },
);
export type LaneDisplayConfig = z.infer<typeof LaneDisplaySchema>;

export const EMERGENCY_MODES = ['fail-safe', 'fail-secure'] as const;
export type EmergencyMode = (typeof EMERGENCY_MODES)[number];

export const LaneSchema = z
  .object({
    sensor: LaneSensorSchema.optional(),
    /** An admission nobody walks through within windowMs gets a compensating not-passed event. */
    passageConfirm: z
      .object({ windowMs: z.number().int().min(100, 'expected at least 100 ms').max(120_000, 'expected at most 120000 ms (2 min)').default(5000) })
      .strict()
      .optional(),
    /**
     * fail-safe: a lost sensor counts as an emergency and opens the lane until it is back;
     * fail-secure: a lost sensor keeps the lane closed. EMERGENCY ON always opens it.
     */
    emergency: z.object({ mode: z.enum(EMERGENCY_MODES, { error: 'expected "fail-safe" or "fail-secure"' }) }).strict().optional(),
    display: LaneDisplaySchema.optional(),
  })
  .strict()
  .superRefine((lane, ctx) => {
    const s = lane.sensor;
    if (s?.type === 'gpio') {
      if (s.passagePin === undefined && s.emergencyPin === undefined) {
        ctx.addIssue({ code: 'custom', message: 'a gpio sensor needs passagePin, emergencyPin or both', path: ['sensor'] });
      }
      if (s.passagePin !== undefined && s.passagePin === s.emergencyPin) {
        ctx.addIssue({ code: 'custom', message: `passagePin and emergencyPin are both ${s.passagePin}; they need separate lines`, path: ['sensor', 'emergencyPin'] });
      }
    }
    if (lane.passageConfirm && (!s || (s.type === 'gpio' && s.passagePin === undefined))) {
      ctx.addIssue({
        code: 'custom',
        message: s ? 'passage confirm needs lane.sensor.passagePin' : 'passage confirm needs a lane.sensor that reports PASS',
        path: ['passageConfirm'],
      });
    }
    if (lane.emergency && (!s || (s.type === 'gpio' && s.emergencyPin === undefined))) {
      ctx.addIssue({
        code: 'custom',
        message: s ? 'emergency needs lane.sensor.emergencyPin' : 'emergency needs a lane.sensor with an emergency input',
        path: ['emergency'],
      });
    }
    if (s?.type === 'serial' && lane.display?.type === 'serial' && s.path === lane.display.path) {
      ctx.addIssue({ code: 'custom', message: `${s.path} is also lane.sensor.path; sensor and display need their own ports`, path: ['display', 'path'] });
    }
  });
export type LaneConfig = z.infer<typeof LaneSchema>;
