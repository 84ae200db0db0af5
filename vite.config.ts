// Builds renderer/ (React + zustand) to renderer/dist — loaded by Electron from
// file:// and served by app/io/ui-server.ts — hence relative asset URLs and a
// single bundle (every asset request must carry the UI token).
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'renderer',
  base: './',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    modulePreload: false,
    rolldownOptions: { output: { codeSplitting: false } },
  },
});
