// saveUrl / saveBlob: one hidden link clicked with the file name; a Blob's object URL is revoked later, not at once.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { saveBlob, saveUrl } from './files';

interface FakeLink {
  href: string;
  download: string;
  rel: string;
  style: { display: string };
  clicks: number;
  removed: boolean;
  click(): void;
  remove(): void;
}

function fakeDocument(): { links: FakeLink[]; appended: FakeLink[] } {
  const links: FakeLink[] = [];
  const appended: FakeLink[] = [];
  vi.stubGlobal('document', {
    createElement: (tag: string) => {
      expect(tag).toBe('a');
      const a: FakeLink = {
        href: '',
        download: '',
        rel: '',
        style: { display: '' },
        clicks: 0,
        removed: false,
        click() {
          this.clicks++;
        },
        remove() {
          this.removed = true;
        },
      };
      links.push(a);
      return a;
    },
    body: { append: (a: FakeLink) => appended.push(a) },
  });
  return { links, appended };
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('saving files', () => {
  it('saveUrl clicks one hidden link named for the file, then removes it', () => {
    const doc = fakeDocument();
    saveUrl('/media/export/7?token=t', 'comparison-7.png');
    expect(doc.links).toHaveLength(1);
    const a = doc.links[0]!;
    expect(doc.appended).toEqual([a]);
    expect(a).toMatchObject({ href: '/media/export/7?token=t', download: 'comparison-7.png', rel: 'noopener', style: { display: 'none' }, clicks: 1, removed: true });
  });

  it('saveBlob saves the Blob’s object URL the same way and revokes it only after 30 s', () => {
    vi.useFakeTimers();
    const doc = fakeDocument();
    const blob = new Blob([new Uint8Array([1, 2, 3])], { type: 'image/png' });
    const create = vi.spyOn(URL, 'createObjectURL').mockReturnValue('blob:studio/1');
    const revoke = vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => undefined);
    saveBlob(blob, 'image-3.png');
    expect(create).toHaveBeenCalledWith(blob);
    expect(doc.links).toHaveLength(1);
    expect(doc.links[0]).toMatchObject({ href: 'blob:studio/1', download: 'image-3.png', rel: 'noopener', style: { display: 'none' }, clicks: 1, removed: true });
    vi.advanceTimersByTime(29_999);
    expect(revoke).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(revoke).toHaveBeenCalledWith('blob:studio/1');
  });
});
