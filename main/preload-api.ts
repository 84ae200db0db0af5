/** The preload's only job, separated from the `electron` import so Node tests can drive it with fakes. */
import { createIpcRenderer, type IpcRendererLike, type RendererApi } from './ipc/helpers.ts';
import { API_KEY, ipcSchema, type IpcSchema } from './ipc/schema.ts';

export type HomewardApi = RendererApi<IpcSchema>;

export interface ContextBridgeLike {
  exposeInMainWorld(key: string, api: unknown): void;
}

export function exposeApi(bridge: ContextBridgeLike, ipcRenderer: IpcRendererLike): HomewardApi {
  const api = createIpcRenderer(ipcSchema, ipcRenderer);
  bridge.exposeInMainWorld(API_KEY, api);
  return api;
}
