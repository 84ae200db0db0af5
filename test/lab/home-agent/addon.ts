/**
 * Makes sure the raw-socket addon (native-tunnel/src/raw_socket.cc) is built
 * and returns the environment that points processes at it. When the tree's
 * own build (native-tunnel/build/Release/raw_socket.node) is missing, it is
 * compiled once per machine into /tmp/homeward-raw-addon/<hash of the source>
 * with npm's bundled node-gyp against the local Node headers.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runOk } from '../harness/exec.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SOURCE = join(ROOT, 'native-tunnel/src/raw_socket.cc');
const IN_TREE = join(ROOT, 'native-tunnel/build/Release/raw_socket.node');
const NODE_GYP = '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js';

export async function rawAddonEnv(): Promise<NodeJS.ProcessEnv> {
  if (existsSync(IN_TREE)) return { ...process.env };
  const hash = createHash('sha256').update(readFileSync(SOURCE)).digest('hex').slice(0, 12);
  const dir = `/tmp/homeward-raw-addon/${hash}`;
  const out = join(dir, 'build/Release/raw_socket.node');
  if (!existsSync(out)) {
    mkdirSync(join(dir, 'src'), { recursive: true });
    copyFileSync(SOURCE, join(dir, 'src/raw_socket.cc')); // gyp wants sources relative to binding.gyp
    const include = join(ROOT, 'node_modules/node-addon-api');
    writeFileSync(join(dir, 'binding.gyp'), JSON.stringify({
      targets: [{
        target_name: 'raw_socket', sources: ['src/raw_socket.cc'], include_dirs: [include],
        defines: ['NAPI_DISABLE_CPP_EXCEPTIONS', 'NAPI_VERSION=8'], cflags_cc: ['-std=c++17'],
      }],
    }));
    const nodedir = existsSync('/usr/include/node/node_api.h') ? ['--nodedir=/usr'] : [];
    await runOk(process.execPath, [NODE_GYP, 'rebuild', ...nodedir], { cwd: dir, timeoutMs: 180_000 });
  }
  return { ...process.env, HOMEWARD_RAW_ADDON: out };
}
