/**
 * Walks every row of the transition table in docs/MOBILITY.md: drives a
 * fresh controller into the row's "from" situation, feeds its input and
 * checks the state reached and the exact effects, in order.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { MobilityConfig } from '../../../app/mobility/context.ts';
import { CFG, Rig, apply, shortName } from '../../harness/mobility-rig.ts';

/** Input sequences that lead from a fresh controller to each "from" situation. */
const WARM_INSIDE = ['link(A)', 'cmd(connect)', 'vpn(up)', 'direct(accepted, tnc)', 'direct(accepted, tnc)'];
const OUTSIDE_MC = ['link(A)', 'cmd(connect)', 'vpn(up)', 'timer(detect)', 'vpnreg(accepted)'];
const SETUPS: Record<string, { cfg?: Partial<MobilityConfig>; steps: string[] }> = {
  disconnected: { steps: ['link(A)'] },
  'disconnected (no link)': { steps: [] },
  detecting: { steps: ['link(A)', 'cmd(connect)'] },
  'detecting (vpn up)': { steps: ['link(A)', 'cmd(connect)', 'vpn(up)'] },
  'detecting (strict, vpn up)': { cfg: { holdUntilDecided: true }, steps: ['link(A)', 'cmd(connect)', 'vpn(up)'] },
  'detecting (cold)': { cfg: { keepVpnInside: false }, steps: ['link(A)', 'cmd(connect)'] },
  'detecting (fa)': { steps: ['link(A)', 'cmd(connect)', 'agent(fa)'] },
  'detecting (not inside)': { steps: ['link(A)', 'cmd(connect)', 'timer(detect)'] },
  'detecting (no vpn configured)': { cfg: { vpnConfigured: false }, steps: ['link(A)', 'cmd(connect)'] },
  'detecting (flowing)': { steps: [...OUTSIDE_MC, 'link(B)', 'vpn(up)'] },
  'detecting (from mc)': { steps: [...OUTSIDE_MC, 'link(B)'] },
  'detecting (move out)': { steps: [...WARM_INSIDE, 'link(B)'] },
  'inside-c': { steps: ['link(A)', 'cmd(connect)', 'direct(accepted, tnc)'] },
  'inside-c (warm)': { steps: WARM_INSIDE },
  'inside-c (gateway lost)': { steps: [...WARM_INSIDE, 'vpn(down)'] },
  'inside-c (refreshing)': { steps: ['link(A)', 'cmd(connect)', 'direct(accepted, tnc)', 'timer(monitor)'] },
  'inside-f (registering)': { steps: ['link(A)', 'cmd(connect)', 'agent(fa)', 'direct(accepted, tnc)'] },
  'inside-f': { steps: ['link(A)', 'cmd(connect)', 'agent(fa)', 'direct(accepted, tnc)', 'direct(accepted, tnc)'] },
  'outside-connecting': { steps: ['link(A)', 'cmd(connect)', 'timer(detect)', 'vpn(up)'] },
  'outside-connecting (was c)': { steps: ['link(A)', 'cmd(connect)', 'direct(accepted, tnc)', 'link(B)', 'timer(detect)', 'vpn(up)'] },
  'outside-mc': { steps: OUTSIDE_MC },
  offline: { steps: ['link(A)', 'cmd(connect)', 'vpn(down)', 'timer(detect)'] },
  blocked: { steps: ['link(A)', 'cmd(connect)', 'vpn(up)', 'timer(detect)', 'vpnreg(denied 131)'] },
};

interface Row {
  n: number;
  from: string;
  input: string;
  to: string;
  effects: string[];
}

function readTable(): Row[] {
  const md = readFileSync(new URL('../../../docs/MOBILITY.md', import.meta.url), 'utf8');
  const section = md.split('## Transition table')[1] ?? '';
  return section
    .split('\n')
    .filter((l) => /^\|\s*\d+\s*\|/.test(l))
    .map((l) => {
      const [n, from, input, to, effects] = l.split('|').slice(1, 6).map((c) => c.trim()) as [string, string, string, string, string];
      return { n: Number(n), from, input, to, effects: effects === '—' ? [] : effects.split(',').map((e) => e.trim()) };
    });
}

const rows = readTable();

describe('docs/MOBILITY.md transition table', () => {
  it('has rows, numbered in order, each with a known "from" situation', () => {
    expect(rows.length).toBeGreaterThanOrEqual(50);
    rows.forEach((r, i) => expect(r.n).toBe(i + 1));
    for (const r of rows) expect(SETUPS[r.from], `row ${r.n}: unknown from "${r.from}"`).toBeDefined();
  });

  for (const row of rows) {
    it(`row ${row.n}: ${row.from} --${row.input}--> ${row.to}`, () => {
      const setup = SETUPS[row.from]!;
      const r = new Rig({ ...CFG, ...setup.cfg });
      for (const s of setup.steps) apply(r, s);
      const fromState = row.from.split(' ')[0];
      expect(r.m.stateName, `setup for "${row.from}"`).toBe(fromState);
      r.mark();
      apply(r, row.input);
      expect(r.m.stateName).toBe(row.to);
      expect(r.since().map(shortName)).toEqual(row.effects);
    });
  }
});
