export declare const LINUX_SIZES: number[];
export declare function renderIcons(options?: { source?: string; outDir?: string }): Promise<{ icon: string; linuxDir: string }>;
