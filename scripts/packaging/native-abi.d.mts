export declare function nativeAbiOf(file: string): { abi: 'node' } | { abi: number } | { abi: 'unknown'; reason: string };
