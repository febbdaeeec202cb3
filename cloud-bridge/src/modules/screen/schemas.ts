import { z } from '@hono/zod-openapi';
import { LevelSchema } from '../../core/http/schemas.js';

/** The entrance screen's model as the public API documents it (model.ts is the type the browser code checks against). */

const HHMM = z.string().openapi({ example: '09:00', description: 'Park time, HH:MM' });

export const ScreenSlotSchema = z
  .object({
    id: z.string(),
    start: HHMM,
    end: HHMM,
    name: z.object({ zh: z.string(), en: z.string() }).strict().optional().openapi({ description: "The slot's name from the catalogue, when it has one" }),
    remaining: z.number().int().min(0).openapi({ description: 'Places the ticket window can still sell in this slot (0 unless `open`)' }),
    state: z.enum(['open', 'soldOut', 'closed', 'over']).openapi({ description: '`open`: places left; `soldOut`: none left, or the park is at red; `closed`: quota 0; `over`: its end plus the late grace has passed' }),
  })
  .strict()
  .openapi('ScreenSlot');

export const ScreenModelSchema = z
  .object({
    site: z.string(),
    siteName: z.object({ zh: z.string(), en: z.string() }).strict().openapi({ description: "The park's name in both languages (the site id when the catalogue has none)" }),
    date: z.string().openapi({ description: "The park's local date, YYYY-MM-DD" }),
    timeZone: z.string(),
    level: LevelSchema,
    remaining: z.number().int().min(0).openapi({ description: 'Places still on sale for today at the ticket window (one place is one person); 0 at red' }),
    salesOpen: z.boolean().openapi({ description: 'False at red and when nothing is left' }),
    slots: z.array(ScreenSlotSchema).openapi({ description: "The catalogue's time slots in order; empty for a park without slots" }),
    admittedToday: z.number().int().min(0).openapi({ description: 'Persons admitted today at all gates, less those the passage sensor saw not walk through (gates report no exits)' }),
    capacity: z.number().int().openapi({ description: 'Daily capacity in persons' }),
    announcement: z.object({ zh: z.string(), en: z.string() }).strict().openapi({ description: "The current level's announcement" }),
    updatedAt: z.string().openapi({ description: 'When the server built this model (ISO 8601)' }),
  })
  .strict()
  .openapi('ScreenModel');
