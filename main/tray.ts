/**
 * The tray, as a pure model: snapshot + settings → icon, tooltip and menu.
 * `applyTray` is the thin adapter onto Electron's Tray/Menu (or a fake).
 *
 *   ● Inside the enterprise network (c)        ← status line, disabled
 *   ─────────
 *   Disconnect | Connect
 *   ◉ Automatic (trusted network detection)
 *   ○ Always VPN
 *   Re-detect now
 *   ─────────
 *   Open Homeward
 *   Copy diagnostics
 *   ─────────
 *   Quit (deregister and close the VPN)
 */
import type { EngineSnapshot } from '../app/engine-snapshot.ts';
import type { AppSettings } from './ipc/schema.ts';
import { modeLabel } from './mode-text.ts';

export type TrayIcon = 'inside' | 'outside-vpn' | 'detecting' | 'offline' | 'error';

export type TrayAction =
  | 'connect' | 'disconnect' | 'policy-automatic' | 'policy-always-vpn'
  | 're-detect' | 'open-window' | 'copy-diagnostics' | 'toggle-notifications' | 'quit';

export type TrayItem =
  | { kind: 'separator' }
  | { kind: 'label'; label: string }
  | { kind: 'action'; action: TrayAction; label: string; enabled: boolean }
  | { kind: 'radio' | 'checkbox'; action: TrayAction; label: string; checked: boolean; enabled: boolean };

export interface TrayModel {
  icon: TrayIcon;
  tooltip: string;
  items: TrayItem[];
}

export function trayIcon(s: EngineSnapshot): TrayIcon {
  if (s.mode === 'blocked' || s.lastError?.fatal) return 'error';
  switch (s.mode) {
    case 'c': case 'f': return 'inside';
    case 'mc': return 'outside-vpn';
    case 'detecting': return 'detecting';
    default: return 'offline';
  }
}

export function trayTooltip(s: EngineSnapshot): string {
  const lines = [`Homeward — ${modeLabel(s.mode)}`];
  if (s.hoa) lines.push(`Home address ${s.hoa}`);
  if (s.mode === 'mc' && s.gateway) lines.push(`VPN gateway ${s.gateway}`);
  if (s.mode === 'blocked' && s.lastError) lines.push(s.lastError.message);
  return lines.join('\n');
}

/** `engineRunning` false: the service is gone — the tray says so and offers only what still works. */
export function buildTrayModel(s: EngineSnapshot, settings: AppSettings, engineRunning = true): TrayModel {
  if (!engineRunning) {
    return {
      icon: 'error',
      tooltip: 'Homeward — engine not running\nYour traffic is not moved or protected; open Homeward to start it.',
      items: [
        { kind: 'label', label: 'Engine not running' },
        { kind: 'separator' },
        { kind: 'action', action: 'open-window', label: 'Open Homeward', enabled: true },
        { kind: 'action', action: 'copy-diagnostics', label: 'Copy diagnostics', enabled: true },
        { kind: 'separator' },
        { kind: 'action', action: 'quit', label: 'Quit', enabled: true },
      ],
    };
  }
  const active = s.connected;
  return {
    icon: trayIcon(s),
    tooltip: trayTooltip(s),
    items: [
      { kind: 'label', label: modeLabel(s.mode) },
      { kind: 'separator' },
      active
        ? { kind: 'action', action: 'disconnect', label: 'Disconnect', enabled: true }
        : { kind: 'action', action: 'connect', label: 'Connect', enabled: true },
      { kind: 'radio', action: 'policy-automatic', label: 'Automatic (trusted network detection)', checked: s.policy === 'automatic', enabled: true },
      { kind: 'radio', action: 'policy-always-vpn', label: 'Always VPN', checked: s.policy === 'always-vpn', enabled: true },
      { kind: 'action', action: 're-detect', label: 'Re-detect now', enabled: active },
      { kind: 'separator' },
      { kind: 'action', action: 'open-window', label: 'Open Homeward', enabled: true },
      { kind: 'action', action: 'copy-diagnostics', label: 'Copy diagnostics', enabled: true },
      { kind: 'checkbox', action: 'toggle-notifications', label: 'Notify on mode changes', checked: settings.notifications, enabled: true },
      { kind: 'separator' },
      { kind: 'action', action: 'quit', label: active ? 'Quit (deregister and close the VPN)' : 'Quit', enabled: true },
    ],
  };
}

/** Electron's MenuItemConstructorOptions, the part we use. */
export interface MenuTemplateItem {
  type?: 'normal' | 'separator' | 'radio' | 'checkbox';
  label?: string;
  enabled?: boolean;
  checked?: boolean;
  click?: () => void;
}

export function toMenuTemplate(model: TrayModel, onAction: (a: TrayAction) => void): MenuTemplateItem[] {
  return model.items.map((item): MenuTemplateItem => {
    switch (item.kind) {
      case 'separator': return { type: 'separator' };
      case 'label': return { type: 'normal', label: item.label, enabled: false };
      case 'action': return { type: 'normal', label: item.label, enabled: item.enabled, click: () => onAction(item.action) };
      default: return { type: item.kind, label: item.label, checked: item.checked, enabled: item.enabled, click: () => onAction(item.action) };
    }
  });
}

/** The slices of Electron's Tray and Menu the adapter touches. */
export interface TrayLike {
  setImage(image: string): void;
  setToolTip(tooltip: string): void;
  setContextMenu(menu: unknown): void;
}

export interface TrayAdapterDeps {
  tray: TrayLike;
  buildMenu: (template: MenuTemplateItem[]) => unknown;
  iconPath: (icon: TrayIcon) => string;
  onAction: (a: TrayAction) => void;
}

/** Applies a model to the real tray, touching only what changed. Returns the model to pass next time. */
export function applyTray(deps: TrayAdapterDeps, model: TrayModel, previous: TrayModel | null): TrayModel {
  if (previous?.icon !== model.icon) deps.tray.setImage(deps.iconPath(model.icon));
  if (previous?.tooltip !== model.tooltip) deps.tray.setToolTip(model.tooltip);
  if (JSON.stringify(previous?.items) !== JSON.stringify(model.items)) {
    deps.tray.setContextMenu(deps.buildMenu(toMenuTemplate(model, deps.onAction)));
  }
  return model;
}
