// Types of electron-skip.mjs for the TypeScript specs and tests.
export declare function electronBinaryAt(root: string): string | undefined;
export declare function electronMissing(root: string): string | undefined;
export declare function skipLine(reason: string): string;
