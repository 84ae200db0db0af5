import { describe, expect, it } from 'vitest';
import { applyEvent, emptySnapshot, type EngineSnapshot } from '../../../app/engine-snapshot.ts';
import type { EngineEvent, Mode } from '../../../app/events.ts';
import { DEFAULT_SETTINGS } from '../../../main/ipc/schema.ts';
import { modeNotification } from '../../../main/mode-text.ts';
import { applyTray, buildTrayModel, toMenuTemplate, type MenuTemplateItem, type TrayAction, type TrayItem } from '../../../main/tray.ts';
import { FakeTray } from './fake-electron.ts';

function snap(mode: Mode, extra: Partial<EngineEvent & { type: 'mode' }> = {}): EngineSnapshot {
  return applyEvent(emptySnapshot(), { type: 'mode', mode, trusted: mode === 'c' || mode === 'f', coa: '10.10.1.23', hoa: '10.10.0.50', ...extra }, 0);
}
const actions = (items: TrayItem[]) => items.flatMap((i) => ('action' in i ? [i.action] : []));

describe('tray model', () => {
  it.each([
    ['c', 'inside', 'Inside the enterprise network (co-located)'],
    ['f', 'inside', 'Inside the enterprise network (via foreign agent)'],
    ['mc', 'outside-vpn', 'Outside — secured by VPN'],
    ['detecting', 'detecting', 'Checking the network…'],
    ['offline', 'offline', 'Offline'],
    ['blocked', 'error', 'Blocked — the home agent refused us'],
  ] as const)('mode %s → icon %s, status line and tooltip', (mode, icon, label) => {
    const m = buildTrayModel(snap(mode), DEFAULT_SETTINGS);
    expect(m.icon).toBe(icon);
    expect(m.items[0]).toEqual({ kind: 'label', label });
    expect(m.tooltip.split('\n')[0]).toBe(`Homeward — ${label}`);
    expect(m.tooltip).toContain('10.10.0.50');
  });

  it('a fatal error shows the error icon whatever the mode', () => {
    const s = applyEvent(snap('mc'), { type: 'error', code: 'AUTHENTICATION_FAILED', message: 'gateway refused us', fatal: true }, 0);
    expect(buildTrayModel(s, DEFAULT_SETTINGS).icon).toBe('error');
  });

  it('connected: Disconnect, Re-detect enabled, Quit says it deregisters', () => {
    const m = buildTrayModel(snap('c'), DEFAULT_SETTINGS);
    expect(actions(m.items)).toEqual(['disconnect', 'policy-automatic', 'policy-always-vpn', 're-detect', 'open-window', 'copy-diagnostics', 'toggle-notifications', 'quit']);
    expect(m.items.find((i) => 'action' in i && i.action === 're-detect')).toMatchObject({ enabled: true });
    expect(m.items.at(-1)).toMatchObject({ label: 'Quit (deregister and close the VPN)' });
  });

  it('disconnected: Connect, Re-detect disabled', () => {
    const m = buildTrayModel(snap('offline', { connected: false }), DEFAULT_SETTINGS);
    expect(actions(m.items)[0]).toBe('connect');
    expect(m.items.find((i) => 'action' in i && i.action === 're-detect')).toMatchObject({ enabled: false });
  });

  it('policy radio follows the snapshot; notifications checkbox follows settings', () => {
    const m = buildTrayModel(snap('mc', { policy: 'always-vpn' }), { ...DEFAULT_SETTINGS, notifications: false });
    const checked = m.items.filter((i) => 'checked' in i && i.checked).map((i) => ('action' in i ? i.action : ''));
    expect(checked).toEqual(['policy-always-vpn']);
  });

  it('menu template: clicks call back with the action, separators and labels are inert', () => {
    const clicked: TrayAction[] = [];
    const t = toMenuTemplate(buildTrayModel(snap('c'), DEFAULT_SETTINGS), (a) => clicked.push(a));
    expect(t[0]).toMatchObject({ type: 'normal', enabled: false });
    expect(t[0]!.click).toBeUndefined();
    expect(t[1]).toEqual({ type: 'separator' });
    t.filter((i) => i.label === 'Always VPN' || i.label === 'Disconnect').forEach((i) => i.click!());
    expect(clicked).toEqual(['disconnect', 'policy-always-vpn']);
    expect(t.find((i) => i.label === 'Always VPN')?.type).toBe('radio');
  });

  it('adapter sets icon/tooltip/menu and skips unchanged parts', () => {
    const tray = new FakeTray();
    const menus: MenuTemplateItem[][] = [];
    const deps = { tray, buildMenu: (t: MenuTemplateItem[]) => (menus.push(t), { t }), iconPath: (i: string) => `/icons/${i}.png`, onAction: () => undefined };
    let prev = applyTray(deps, buildTrayModel(snap('c'), DEFAULT_SETTINGS), null);
    expect(tray.image).toBe('/icons/inside.png');
    prev = applyTray(deps, buildTrayModel(snap('c'), DEFAULT_SETTINGS), prev);
    expect(tray.menuSets).toBe(1);
    applyTray(deps, buildTrayModel(snap('mc'), DEFAULT_SETTINGS), prev);
    expect(tray.image).toBe('/icons/outside-vpn.png');
    expect(tray.menuSets).toBe(2);
    expect(menus[1]![0]!.label).toBe('Outside — secured by VPN');
  });
});

describe('mode notifications', () => {
  it('tell a real change, stay quiet for detecting, repeats, start-up offline or when turned off', () => {
    expect(modeNotification('c', 'mc', true)).toMatchObject({ title: 'Outside — secured by VPN' });
    expect(modeNotification('c', 'detecting', true)).toBeNull();
    expect(modeNotification('mc', 'mc', true)).toBeNull();
    expect(modeNotification(null, 'offline', true)).toBeNull();
    expect(modeNotification('c', 'mc', false)).toBeNull();
  });

  it('with the engine gone: an error icon, says so, and offers only what still works', () => {
    const m = buildTrayModel(snap('mc'), DEFAULT_SETTINGS, false);
    expect(m.icon).toBe('error');
    expect(m.tooltip).toMatch(/^Homeward — engine not running/);
    expect(m.items[0]).toEqual({ kind: 'label', label: 'Engine not running' });
    const actions = m.items.flatMap((i) => ('action' in i ? [i.action] : []));
    expect(actions).toEqual(['open-window', 'copy-diagnostics', 'quit']);
  });
});
