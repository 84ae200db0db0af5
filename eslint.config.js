// ESLint flat config. The second block is the house rule from STYLE.md:
// protocol cores (everything in app/ except app/io and app/cli) never read
// the clock, arm timers, open sockets or load the native addon. Time and I/O
// reach them as inputs; effects leave them as values.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const coreBan = 'Protocol cores are sans-I/O: take `now` as a parameter and return effects; only app/io and app/cli may do I/O.';

export default tseslint.config(
  { ignores: ['node_modules/**', 'native-tunnel/build/**', 'dist/**', 'renderer/dist/**', 'bench/results/**', 'main/*.cjs', 'tmp/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // bin/homeward.cjs is CommonJS on purpose (no ES module loader at start-up, docs/PERFORMANCE.md)
    files: ['bin/**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['app/**/*.ts'],
    ignores: ['app/io/**', 'app/cli/**'],
    rules: {
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: coreBan }, { name: 'setInterval', message: coreBan },
        { name: 'setImmediate', message: coreBan }, { name: 'clearTimeout', message: coreBan },
        { name: 'clearInterval', message: coreBan }, { name: 'performance', message: coreBan },
        { name: 'process', message: coreBan }],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: coreBan },
        { object: 'performance', property: 'now', message: coreBan },
        { object: 'process', property: 'hrtime', message: coreBan }],
      'no-restricted-syntax': ['error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: coreBan }],
      'no-restricted-imports': ['error', { patterns: [
        { group: ['node:dgram', 'dgram', 'node:net', 'net', 'node:child_process', 'child_process', 'node:fs', 'fs', 'node:fs/promises', 'node:timers', 'node:timers/promises', 'timers', 'node:os', 'os'], message: coreBan },
        { group: ['**/native-tunnel', '**/native-tunnel/**', '**/io/*', '../io/**', '../../io/**'], message: coreBan },
      ] }],
    },
  },
  {
    // issue 15: processes start in one place (app/io/exec.ts); everything else asks it, or the Platform.
    // (The cores' block above already bans child_process everywhere else in app/; a second block on the
    // same files would replace its list, so this one covers app/io and app/cli only.)
    files: ['app/io/**/*.ts', 'app/cli/**/*.ts'],
    ignores: ['app/io/exec.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['node:child_process', 'child_process'], message: 'Only app/io/exec.ts starts processes: use its execText/runTool/spawnTool (or Platform.runTool).' },
      ] }],
    },
  },
);
