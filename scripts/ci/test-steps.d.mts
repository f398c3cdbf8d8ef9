// Types of test-steps.mjs for the TypeScript tests.
export interface Step {
  name: string;
  command: string;
  args: string[];
  e2e?: 'browser' | 'electron';
}
export declare const STEPS: Step[];
export declare function e2eSpecs(root: string, kind: 'browser' | 'electron'): string[];
export declare function notRunReport(steps: Step[], failed: number, specs: { browser: number; electron: number }): string;
