// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', '.deploy/**', 'node_modules/**', 'infra/**', 'coverage/**', '.tools/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
    },
  },
  {
    // Functions split at their stages (docs/development.md): a longer one is a sign it does two jobs.
    files: ['lib/**', 'cli/**', 'functions/**', 'dev/**'],
    rules: { 'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }] },
  },
  {
    files: ['dev/**', 'cli/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
  { files: ['eslint.config.js', 'test/fixtures/**/*.mjs'], ...tseslint.configs.disableTypeChecked },
);
