// Types of fuses.mjs for the TypeScript tests.
export declare const REQUIRED_FUSES: Readonly<Record<string, boolean>>;
export declare function fuseConfig(
  fuses: { FuseVersion: { V1: string }; FuseV1Options: Record<string, number | string> },
  platform: string,
): Record<string | number, unknown>;
export declare function electronBinaryIn(appOutDir: string, platform: string, names: { productFilename: string; executableName?: string }): string;
export declare function fuseMismatches(fuses: { FuseV1Options: Record<string, number | string> }, wire: Record<string | number, unknown>): string[];
export declare function applyFuses(binary: string, platform: string): Promise<Record<string | number, unknown>>;
