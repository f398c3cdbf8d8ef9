export declare function nativeRequirements(root: string, platform: string, arch: string): { what: string; path: string; ok: boolean; fix: string }[];
export declare function builderPlatformFlag(platform: string): string | undefined;
