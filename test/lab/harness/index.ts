/** The namespace lab harness: topology, real peers, capture, teardown. */
export { Lab, withLab, type LabSpec, type HostSpec, type LinkSpec, type RouteSpec, type NatSpec, type LossSpec, type SpawnOptions } from './lab.ts';
export { LabProcess, CommandError, run, runOk, type ExecResult, type ExecOptions } from './exec.ts';
export { startStrongSwan, strongswanConf, roadWarriorResponder, DEFAULT_PLUGINS, type StrongSwan, type StrongSwanOptions, type StrongSwanConfOptions } from './strongswan.ts';
export { parseListSas, parseViciPretty, type IkeSaInfo, type ChildSaInfo } from './vici-pretty.ts';
export { capture, dissect, parseTsharkFields, type Capture, type CaptureOptions, type Dissection, type DissectedPacket, type DissectOptions } from './capture.ts';
export { labAvailable, skipLine, PYTHON, type LabAvailability, type LabNeed } from './available.ts';
export { sweepStale, liveRunIds, pidAlive, deferSignalTeardown } from './registry.ts';
export { leftovers, isClean, type Leftovers } from './leftovers.ts';
export { makePki, swanctlFiles, certFileName, type Pki, type PkiEntity, type PkiOptions, type KeyType } from './pki.ts';
export { startFreeRadius, type FreeRadius, type FreeRadiusOptions } from './freeradius.ts';
