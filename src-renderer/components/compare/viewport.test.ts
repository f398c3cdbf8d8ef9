import { describe, expect, it } from 'vitest';
import { FIT, MAX_ZOOM, clampPan, fitted, isOneToOne, oneToOneZoom, pan, toggleOneToOne, wheelZoom, zoomAt, zoomLabel, type Viewport } from './viewport';

const natural = { width: 1024, height: 1024 };
const cell = { width: 256, height: 200 };

/** Where an image point (px from the image centre, in fitted CSS px) lands on screen. */
function project(v: Viewport, q: { x: number; y: number }): { x: number; y: number } {
  return { x: v.x + q.x * v.zoom, y: v.y + q.y * v.zoom };
}

describe('shared viewport math', () => {
  it('fit is contain: a square image in a 256×200 cell is 200×200, shown at zoom 1 and centred', () => {
    expect(fitted(natural, cell)).toEqual({ width: 200, height: 200 });
    const wide = fitted({ width: 1344, height: 768 }, { width: 400, height: 400 });
    expect(wide.width).toBeCloseTo(400, 9);
    expect(wide.height).toBeCloseTo((768 * 400) / 1344, 9);
    expect(FIT).toEqual({ zoom: 1, x: 0, y: 0 });
    expect(zoomLabel(FIT, natural, cell)).toBe(`${Math.round((200 / 1024) * 100)}%`);
  });

  it('zooming around the cursor keeps the image point under the cursor in place', () => {
    const cursor = { x: 60, y: -40 };
    let v: Viewport = { zoom: 1.5, x: 10, y: 5 };
    const under = { x: (cursor.x - v.x) / v.zoom, y: (cursor.y - v.y) / v.zoom };
    v = zoomAt(v, 4, cursor);
    expect(v.zoom).toBe(4);
    const p = project(v, under);
    expect(p.x).toBeCloseTo(cursor.x, 9);
    expect(p.y).toBeCloseTo(cursor.y, 9);
    // Zooming at the centre of a centred image does not move it.
    expect(zoomAt(FIT, 2, { x: 0, y: 0 })).toEqual({ zoom: 2, x: 0, y: 0 });
  });

  it('the wheel zooms in for negative deltaY, out for positive, evenly, within the limits', () => {
    const p = { x: 30, y: 30 };
    const zin = wheelZoom(FIT, -100, p);
    const zout = wheelZoom(FIT, 100, p);
    expect(zin.zoom).toBeGreaterThan(1);
    expect(zout.zoom).toBeLessThan(1);
    expect(zin.zoom * zout.zoom).toBeCloseTo(1, 9);
    let v: Viewport = FIT;
    for (let i = 0; i < 200; i++) v = wheelZoom(v, -400, p);
    expect(v.zoom).toBe(MAX_ZOOM);
  });

  it('1:1 is one image pixel per device pixel; the toggle goes there around a point and back to fit', () => {
    expect(oneToOneZoom(natural, cell)).toBeCloseTo(1024 / 200, 12);
    expect(oneToOneZoom(natural, cell, 2)).toBeCloseTo(512 / 200, 12);
    const at = { x: -50, y: 20 };
    const one = toggleOneToOne(FIT, natural, cell, at);
    expect(isOneToOne(one, natural, cell)).toBe(true);
    expect(zoomLabel(one, natural, cell)).toBe('100%');
    // The point double-clicked stays under the pointer.
    const under = { x: at.x / FIT.zoom, y: at.y / FIT.zoom };
    expect(project(one, under).x).toBeCloseTo(at.x, 9);
    expect(toggleOneToOne(one, natural, cell, at)).toEqual(FIT);
    expect(zoomLabel({ zoom: (2 * 1024) / 200, x: 0, y: 0 }, natural, cell)).toBe('200%');
  });

  it('pan moves by the drag and is clamped so the image cannot leave the cell', () => {
    expect(pan(FIT, 12, -7)).toEqual({ zoom: 1, x: 12, y: -7 });
    const far = clampPan(pan(FIT, 10_000, -10_000), natural, cell);
    expect(far.x).toBeLessThan(cell.width);
    expect(far.y).toBeGreaterThan(-cell.height);
    expect(clampPan({ zoom: 1, x: 5, y: 5 }, natural, cell)).toEqual({ zoom: 1, x: 5, y: 5 });
  });
});
