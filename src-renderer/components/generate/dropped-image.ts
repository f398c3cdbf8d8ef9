// The image file a drop or a paste carries (the first PNG, JPEG or WebP; any other file is not taken).
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp'];

export function imageFileOf(data: Pick<DataTransfer, 'files'> | null | undefined): File | undefined {
  const files = data?.files;
  if (!files) return undefined;
  for (let i = 0; i < files.length; i++) {
    const f = files[i];
    if (f && IMAGE_TYPES.includes(f.type)) return f;
  }
  return undefined;
}
