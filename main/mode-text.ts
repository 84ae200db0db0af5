/** Plain-language names of the modes, shared by the tray, notifications and (re-exported) the renderer. */
import type { Mode } from '../app/events.ts';

export function modeLabel(mode: Mode): string {
  switch (mode) {
    case 'c': return 'Inside the enterprise network (co-located)';
    case 'f': return 'Inside the enterprise network (via foreign agent)';
    case 'mc': return 'Outside — secured by VPN';
    case 'detecting': return 'Checking the network…';
    case 'offline': return 'Offline';
    case 'blocked': return 'Blocked — the home agent refused us';
  }
}

export function modeMeaning(mode: Mode): string {
  switch (mode) {
    case 'c': return 'Your home address reaches the home agent directly; no VPN is needed on this network.';
    case 'f': return 'A foreign agent on this network relays your traffic to the home agent.';
    case 'mc': return 'This network is not trusted: Mobile IP runs inside an IPsec tunnel to the VPN gateway.';
    case 'detecting': return 'Traffic is held until Homeward knows whether this network is trusted.';
    case 'offline': return 'No path to the enterprise. Traffic is not sent in clear.';
    case 'blocked': return 'Traffic is stopped (fail closed) until the home agent accepts a registration.';
  }
}

export interface ModeNotification { title: string; body: string }

/** The desktop notification for a mode change, or null when nothing worth telling happened. */
export function modeNotification(prev: Mode | null, next: Mode, enabled: boolean): ModeNotification | null {
  if (!enabled || prev === next || next === 'detecting') return null;
  if (prev === null && next === 'offline') return null;
  return { title: modeLabel(next), body: modeMeaning(next) };
}

/** What a person reads first; the mode letters (c, f, mc) are only the detail line. */
export interface StatusWords {
  /** "Office network", "Protected by VPN", "Checking this network…", "Disconnected by you", "VPN forced by policy", … */
  title: string;
  /** one sentence on what it means for the user's traffic */
  meaning: string;
  /** the trust line: how this network is treated */
  trust: { label: string; tone: 'good' | 'info' | 'warn' | 'bad' | 'neutral' };
  /** a short word for the badge */
  short: string;
  /** the technical detail: mode letters and their name */
  detail: string;
}

export interface StatusInput { mode: Mode; trusted: boolean; policy: 'automatic' | 'always-vpn'; connected: boolean }

export function statusWords(s: StatusInput, engineRunning = true): StatusWords {
  const detail = `mode ${s.mode}: ${modeLabel(s.mode)}`;
  if (!engineRunning) {
    return {
      title: 'Engine not running', short: 'Off', detail: 'no engine',
      meaning: 'Homeward is not moving or protecting your traffic. What you see is the last known state.',
      trust: { label: 'Unknown', tone: 'neutral' },
    };
  }
  switch (s.mode) {
    case 'c': case 'f':
      return {
        title: 'Office network', short: 'Office', detail,
        meaning: s.mode === 'f'
          ? 'You are on a trusted enterprise network; a relay on this network carries your traffic home. No VPN is needed.'
          : 'You are on a trusted enterprise network. No VPN is needed; your sessions keep their address.',
        trust: { label: 'Trusted network', tone: 'good' },
      };
    case 'mc':
      return s.policy === 'always-vpn'
        ? {
          title: 'VPN forced by policy', short: 'VPN', detail,
          meaning: 'Always VPN is on: your traffic goes through the encrypted tunnel on every network, trusted or not.',
          trust: { label: 'Not checked (Always VPN)', tone: 'info' },
        }
        : {
          title: 'Protected by VPN', short: 'VPN', detail,
          meaning: 'This network is not trusted, so your traffic goes through the encrypted tunnel to the enterprise.',
          trust: { label: 'Untrusted network', tone: 'info' },
        };
    case 'detecting':
      return {
        title: 'Checking this network…', short: '…', detail,
        meaning: 'Your traffic waits (nothing is sent in clear) until Homeward knows whether this network is trusted.',
        trust: { label: 'Checking…', tone: 'warn' },
      };
    case 'offline':
      return s.connected
        ? {
          title: 'No network', short: 'Offline', detail,
          meaning: 'There is no path to the enterprise right now. Nothing is sent in clear; Homeward reconnects when a network appears.',
          trust: { label: 'No network', tone: 'neutral' },
        }
        : {
          title: 'Disconnected by you', short: 'Off', detail,
          meaning: 'Homeward is switched off until you press Connect.',
          trust: { label: 'Not connected', tone: 'neutral' },
        };
    case 'blocked':
      return {
        title: 'Blocked by the home agent', short: '!', detail,
        meaning: 'The enterprise refused this device, so traffic is stopped until it accepts a registration. See Diagnostics.',
        trust: { label: 'Refused', tone: 'bad' },
      };
  }
}
