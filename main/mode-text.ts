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
