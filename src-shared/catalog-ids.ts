// The SD3.5 variants' ids, below both catalog.ts (their repos and sizes) and generation.ts (their defaults):
// generation.ts imports these, catalog.ts imports generation.ts, and nothing points back up.
import { z } from 'zod';

export const CATALOG_IDS = ['sd3.5-medium', 'sd3.5-large-turbo', 'sd3.5-large'] as const;
export const catalogIdSchema = z.enum(CATALOG_IDS);
export type CatalogId = z.infer<typeof catalogIdSchema>;
