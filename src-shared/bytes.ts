// Bytes for people, one convention everywhere (files, models, limits, free disk): decimal units as
// Hugging Face and the OS file managers show them ("4.94 GB", "246 MB", 1 kB = 1000 bytes).

export function formatBytes(bytes: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  if (unit === 0) return Math.round(value) === 1 ? '1 byte' : `${Math.round(value)} bytes`;
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** "12.3 MB/s": a transfer rate in the same units. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}
