/**
 * Preload (sandboxed, context-isolated): exposes exactly the API derived from
 * the IPC schema as window.homeward — no ipcRenderer, no Node, nothing else.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { exposeApi } from './preload-api.ts';

exposeApi(contextBridge, ipcRenderer);
