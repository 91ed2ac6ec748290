import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Imports a folder may not make: the two processes share code only through pkg/ and api-types/. */
const forbid = (...folders) => ({
  'no-restricted-imports': [
    'error',
    {
      patterns: folders.map((folder) => ({
        group: [`**/${folder}`, `**/${folder}/**`],
        message: `${folder}/ is another process (or a layer above this one): share code through pkg/ or api-types/ instead.`,
      })),
    },
  ],
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.run/**', 'coverage/**', '*.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
      // the bugs we want: promises nobody awaits or catches, promises where a value is expected
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // async functions without await implement promise-returning interfaces (authenticators,
      // admission plugins, fixtures); making them return Promise.resolve() would say less
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // tests read JSON answers and journal entries as they come: `any` is their normal
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  // boundaries: apiserver/ and controller-manager/ never import each other; pkg/ and api-types/
  // serve both (and clients); svcat/ and brokers/ are clients and import neither process
  {
    files: ['apiserver/**/*.ts'],
    rules: forbid('controller-manager', 'svcat', 'brokers', 'hack', 'test', 'bench'),
  },
  {
    files: ['controller-manager/**/*.ts'],
    rules: forbid('apiserver', 'svcat', 'brokers', 'hack', 'test', 'bench'),
  },
  {
    files: ['pkg/**/*.ts', 'api-types/**/*.ts'],
    rules: forbid('apiserver', 'controller-manager', 'svcat', 'brokers', 'hack', 'test', 'bench'),
  },
  {
    files: ['svcat/**/*.ts', 'brokers/**/*.ts'],
    rules: forbid('apiserver', 'controller-manager', 'hack', 'test', 'bench'),
  },
  { files: ['**/*.mjs', '**/*.js'], extends: [tseslint.configs.disableTypeChecked] },
);
