/** A fake of the Electron surface main/ touches: ipcMain/ipcRenderer pair, webContents, contextBridge, Tray, Menu. */
import type { IpcMainLike, IpcRendererLike, WebContentsLike } from '../../../main/ipc/helpers.ts';

type Handler = (event: unknown, arg: unknown) => unknown;
type Listener = (event: unknown, payload: unknown) => void;

/** ipcMain + one renderer's ipcRenderer + its webContents, joined like Electron joins them. */
export class FakeIpc {
  readonly handlers = new Map<string, Handler>();
  readonly listeners = new Map<string, Set<Listener>>();
  readonly sent: { channel: string; payload: unknown }[] = [];
  senderUrl = 'file:///app/renderer/dist/index.html';

  readonly ipcMain: IpcMainLike = {
    handle: (channel, listener) => {
      if (this.handlers.has(channel)) throw new Error(`second handler for ${channel}`);
      this.handlers.set(channel, listener);
    },
  };

  /** what Electron passes as the event; its `sender` is the ipcRenderer — must never reach the page */
  private event(): unknown {
    return { sender: this.ipcRenderer, senderFrame: { url: this.senderUrl } };
  }

  readonly ipcRenderer: IpcRendererLike = {
    invoke: async (channel, arg) => {
      const h = this.handlers.get(channel);
      if (!h) throw new Error(`No handler registered for '${channel}'`);
      return structuredClone(await h(this.event(), structuredClone(arg)));
    },
    on: (channel, listener) => {
      if (!this.listeners.has(channel)) this.listeners.set(channel, new Set());
      this.listeners.get(channel)!.add(listener);
    },
    removeListener: (channel, listener) => {
      this.listeners.get(channel)?.delete(listener);
    },
  };

  readonly webContents: WebContentsLike = {
    send: (channel, payload) => {
      this.sent.push({ channel, payload });
      for (const l of this.listeners.get(channel) ?? []) l(this.event(), structuredClone(payload));
    },
  };
}

export class FakeTray {
  image = '';
  tooltip = '';
  menu: unknown = null;
  menuSets = 0;
  setImage(i: string): void { this.image = i; }
  setToolTip(t: string): void { this.tooltip = t; }
  setContextMenu(m: unknown): void { this.menu = m; this.menuSets++; }
}
