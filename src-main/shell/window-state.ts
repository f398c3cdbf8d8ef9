// Window size and position, remembered in <data>/window-state.json (plain data; no Electron import).
import fs from 'node:fs';
import { z } from 'zod';

const stateSchema = z.object({
  x: z.number().int().optional(),
  y: z.number().int().optional(),
  width: z.number().int().min(400).max(20000),
  height: z.number().int().min(300).max(20000),
  maximized: z.boolean(),
});
export type WindowState = z.infer<typeof stateSchema>;

export const DEFAULT_WINDOW_STATE: WindowState = { width: 1360, height: 880, maximized: false };

export interface Area {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The saved state, or the default when missing, damaged, or no longer on any display. */
export function loadWindowState(file: string, displays: Area[]): WindowState {
  let saved: WindowState;
  try {
    saved = stateSchema.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch {
    return DEFAULT_WINDOW_STATE;
  }
  if (saved.x === undefined || saved.y === undefined) return saved;
  const { x, y } = saved;
  const visible = displays.some((d) => x + 100 > d.x && y + 50 > d.y && x < d.x + d.width - 100 && y < d.y + d.height - 50);
  return visible ? saved : { width: saved.width, height: saved.height, maximized: saved.maximized };
}

export function saveWindowState(file: string, state: WindowState): void {
  try {
    fs.writeFileSync(file, JSON.stringify(stateSchema.parse(state)));
  } catch {
    // not worth failing a quit over
  }
}
