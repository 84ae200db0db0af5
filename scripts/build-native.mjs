#!/usr/bin/env node
// Builds native-tunnel/ with node-gyp against the headers of the Node that runs
// this script, so the build never tries to download headers (machines here
// have no internet). Run by `npm ci` (the package's install script).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const prefix = resolve(dirname(process.execPath), '..');
const headers = join(prefix, 'include', 'node', 'node_api.h');
const nodeGyp = process.env.npm_config_node_gyp;
const args = ['rebuild', '--directory', 'native-tunnel'];
if (existsSync(headers)) args.push(`--nodedir=${prefix}`);
const [cmd, cmdArgs] = nodeGyp ? [process.execPath, [nodeGyp, ...args]] : ['node-gyp', args];
const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`native-tunnel: build failed (${cmd} ${cmdArgs.join(' ')}). It needs python3, make and g++ and Node's headers (${headers}).`);
  process.exit(r.status ?? 1);
}
