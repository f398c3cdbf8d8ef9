// Lint rules, including the ones that keep the rooms apart (docs/architecture.md §1):
//  - src-shared imports nothing platform-specific;
//  - src-renderer never imports electron, better-sqlite3, onnxruntime-node, sharp or Node built-ins;
//  - electron is imported only by the shell's Electron files (shell/main.ts, window.ts, preload.ts, protocol.ts),
//    transport/ipc.ts and electron/**; the shell's Electron-free halves beside them stay Electron-free;
//  - core/ and inference/ reach Electron only through adapter interfaces;
//  - imports point down: inference/ (and lora/, model-folder/, formats/) never import core/ or above; transport/
//    never imports shell/; product code never imports testing/ or e2e/.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import pluginVue from 'eslint-plugin-vue';
import vueParser from 'vue-eslint-parser';
import globals from 'globals';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const nativeAndElectron = ['electron', 'better-sqlite3', 'onnxruntime-node', 'sharp', 'ws', '@huggingface/tokenizers'];

const restrict = (paths, patterns, message) => ({
  'no-restricted-imports': [
    'error',
    {
      paths: paths.map((name) => ({ name, message })),
      patterns: patterns.map((group) => ({ group: [group], message })),
    },
  ],
});

const ELECTRON_ALLOWED = [
  'src-main/shell/main.ts',
  'src-main/shell/window.ts',
  'src-main/shell/preload.ts',
  'src-main/shell/protocol.ts',
  'src-main/transport/ipc.ts',
  'src-main/electron/**',
];

// Test code and its helpers may reach anything; product code may not reach them (docs/architecture.md §9).
const TESTS = ['**/*.test.ts', '**/*.spec.ts', 'src-main/testing/**', 'src-renderer/testing/**', 'e2e/**', 'scripts/**'];
const TEST_ONLY = ['**/testing/**', '**/e2e/**'];
// The rooms the worker's code runs in sit below core/ (docs/architecture.md §1 "Imports point down").
const BELOW_CORE = ['src-main/inference/**', 'src-main/lora/**', 'src-main/model-folder/**', 'src-main/formats/**'];
const BELOW_INFERENCE = ['src-main/lora/**', 'src-main/model-folder/**', 'src-main/formats/**'];
const UPPER_ROOMS = ['core', 'cli', 'transport', 'shell', 'electron'];
const TEST_ONLY_MESSAGE = 'Product code never imports testing/ or e2e/ (test helpers live there; docs/architecture.md §9).';

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'native/**', 'test-results/**', 'playwright-report/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...pluginVue.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-require-imports': 'off',
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    files: ['**/*.vue'],
    languageOptions: { parser: vueParser, parserOptions: { parser: tseslint.parser, sourceType: 'module', extraFileExtensions: ['.vue'] } },
    rules: {
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/multiline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
      'vue/html-indent': 'off',
      'vue/html-closing-bracket-newline': 'off',
    },
  },
  {
    files: ['src-renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: restrict([...nativeAndElectron, ...nodeBuiltins], ['**/src-main/**', '../src-main/*'], 'The renderer reaches the studio only through src-renderer/api.ts (docs/architecture.md §1).'),
  },
  {
    files: ['src-shared/**'],
    rules: restrict([...nativeAndElectron, ...nodeBuiltins, 'vue', 'pinia'], ['**/src-main/**', '**/src-renderer/**'], 'src-shared runs in every process: no platform imports (docs/architecture.md §1).'),
  },
  {
    files: ['src-main/**'],
    ignores: ELECTRON_ALLOWED,
    rules: restrict(['electron'], ['**/src-renderer/**'], 'Only shell/{main,window,preload,protocol}.ts, transport/ipc.ts and electron/** import electron; core/ and inference/ use adapters (docs/architecture.md §1).'),
  },
  {
    files: ELECTRON_ALLOWED,
    rules: restrict([], ['**/src-renderer/**'], 'The main process never imports renderer code.'),
  },
  // The same rules again for product files, with testing/ and e2e/ forbidden too (a later block replaces the
  // rule's options for the files it matches, so each repeats its room's list).
  {
    files: ['src-renderer/**'],
    ignores: TESTS,
    rules: restrict([...nativeAndElectron, ...nodeBuiltins], ['**/src-main/**', '../src-main/*', ...TEST_ONLY], `The renderer reaches the studio only through src-renderer/api.ts (docs/architecture.md §1). ${TEST_ONLY_MESSAGE}`),
  },
  {
    files: ['src-shared/**'],
    ignores: TESTS,
    rules: restrict([...nativeAndElectron, ...nodeBuiltins, 'vue', 'pinia'], ['**/src-main/**', '**/src-renderer/**', ...TEST_ONLY], `src-shared runs in every process: no platform imports (docs/architecture.md §1). ${TEST_ONLY_MESSAGE}`),
  },
  {
    files: ['src-main/**'],
    ignores: [...ELECTRON_ALLOWED, ...TESTS],
    rules: restrict(['electron'], ['**/src-renderer/**', ...TEST_ONLY], `Only shell/{main,window,preload,protocol}.ts, transport/ipc.ts and electron/** import electron (docs/architecture.md §1). ${TEST_ONLY_MESSAGE}`),
  },
  {
    files: ELECTRON_ALLOWED,
    ignores: TESTS,
    rules: restrict([], ['**/src-renderer/**', ...TEST_ONLY], `The main process never imports renderer code. ${TEST_ONLY_MESSAGE}`),
  },
  // One owner per rule (issue #15 §2): the parameter ranges and their words are THE schema's
  // (src-shared/generation.ts). The surfaces that take parameters show its messages and never compare against
  // the limits themselves or type the largest size again.
  {
    files: ['src-renderer/stores/generate.ts', 'src-renderer/components/generate/**', 'src-main/inference/pipeline.ts', 'src-main/cli/commands/generate.ts'],
    ignores: TESTS,
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "BinaryExpression[operator=/^[<>]=?$/] MemberExpression[property.name=/^(min|max)(Steps|Guidance|Side|Pixels|PromptChars)$/]",
          message: 'A parameter range is checked by THE schema (src-shared/generation.ts): parse with it and show its message (paramErrors / requireParams).',
        },
        {
          selector: "BinaryExpression[operator='%'] MemberExpression[property.name='sizeMultiple']",
          message: 'The size rule is checked by THE schema (src-shared/generation.ts): parse with it and show its message.',
        },
        {
          selector: 'Literal[value=2048], TemplateElement[value.raw=/2048/], Literal[value=/2048/]',
          message: 'The largest size is GENERATION_LIMITS / MAX_AREA_TEXT (src-shared/generation.ts), not typed again.',
        },
      ],
    },
  },
  // Imports point down: the worker's rooms (inference/, and lora/, model-folder/, formats/ below it) never reach
  // up into core/ or the rooms above it; what the host needs from a spawner is inference/worker-process.ts.
  {
    files: BELOW_CORE,
    ignores: TESTS,
    rules: restrict(['electron'], ['**/src-renderer/**', ...TEST_ONLY, ...UPPER_ROOMS.map((room) => `**/${room}/**`)], `inference/, lora/, model-folder/ and formats/ sit below core/: they never import core/, cli/, transport/, shell/ or electron/ (docs/architecture.md §1). ${TEST_ONLY_MESSAGE}`),
  },
  {
    files: BELOW_INFERENCE,
    ignores: TESTS,
    rules: restrict(['electron'], ['**/src-renderer/**', ...TEST_ONLY, ...['inference', ...UPPER_ROOMS].map((room) => `**/${room}/**`)], `lora/, model-folder/ and formats/ sit below inference/: they never import inference/, core/ or the rooms above (docs/architecture.md §1). ${TEST_ONLY_MESSAGE}`),
  },
  // Imports point down: transport/ is below shell/ (it serves the shell's windows and the browser alike).
  {
    files: ['src-main/transport/**'],
    ignores: [...TESTS, 'src-main/transport/ipc.ts'],
    rules: restrict(['electron'], ['**/src-renderer/**', ...TEST_ONLY, '**/shell/**', '../shell/*'], `transport/ never imports shell/ (the pure policy lives in transport/security.ts; docs/architecture.md §1). ${TEST_ONLY_MESSAGE}`),
  },
  {
    files: ['src-main/transport/ipc.ts'],
    rules: restrict([], ['**/src-renderer/**', ...TEST_ONLY, '**/shell/**', '../shell/*'], `transport/ never imports shell/ (docs/architecture.md §1). ${TEST_ONLY_MESSAGE}`),
  },
);
