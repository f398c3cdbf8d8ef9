// Where image and thumbnail files of gallery ids live. The history room implements it; the image
// protocol and browser mode ask it by id (never by path).
export interface MediaSource {
  imagePath(id: number): string | undefined;
  thumbPath(id: number, size: 256 | 512): Promise<string | undefined> | string | undefined;
}

export const noMedia: MediaSource = { imagePath: () => undefined, thumbPath: () => undefined };
