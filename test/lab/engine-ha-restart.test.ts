/**
 * Issue 18, the Mobile IP side: the home agent restarts and has forgotten the
 * binding. `homeward run` in the engine lab (fixtures/engine-lab.ts), the
 * reference HA granting lifetimes of 20 s, a 20 ms ping from the home address
 * to the intranet echo host:
 *
 *   mode c  (T1, IP-in-IP straight to the i-HA)                  — HA SIGKILLed, started again at once
 *   mode mc (U1, the same tunnel inside the real strongSwan VPN) — HA SIGKILLed, started again 4 s later
 *
 * The ping's replies stop while it is gone; outbound keeps flowing, inbound
 * does not, so the engine suspects the binding (`liveness`, `what: binding`)
 * and refreshes it with short retransmissions: the first reply must come
 * ≤ 3 s after the new HA logged "ready" (its binding cache empty). Figures
 * are printed per mode.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labAvailable, skipLine, type Lab, type LabProcess } from './harness/index.ts';
import { createEngineLab, events, HOA, isMode, ROOT, TSX, waitEvent, type EngineLab, type Json } from './fixtures/engine-lab.ts';

const avail = labAvailable({ need: ['strongswan'] });
if (!avail.ok) console.warn(skipLine('engine-ha-restart', avail));

/** Reply times (ms since the epoch) of a `ping -D` run. */
function replyTimes(out: string): number[] {
  return [...out.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((m) => Number(m[1]) * 1000);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!avail.ok)('homeward run: the home agent restarts and forgets the binding (issue 18, lab)', () => {
  let L: EngineLab;
  let lab: Lab;
  let ha: LabProcess;
  let mn: LabProcess | undefined;
  let haConfig: string;

  const startHa = async (): Promise<{ p: LabProcess; readyAt: number }> => {
    const p = lab.spawn('ha', process.execPath, [...TSX, join(ROOT, 'test/lab/home-agent/main.ts'), '--config', haConfig], { env: L.env, label: 'home-agent' });
    const m = await p.waitFor(/\{"t":(\d+),"event":"ready"[^\n]*/, 30_000, 'stdout');
    return { p, readyAt: Number(m[1]) };
  };

  beforeAll(async () => {
    L = await createEngineLab();
    lab = L.lab;
    // the issue's lab: the HA grants lifetimes of 20 s
    haConfig = join(lab.workDir, 'ha.json');
    writeFileSync(haConfig, JSON.stringify({ ...(JSON.parse(readFileSync(haConfig, 'utf8')) as Json), maxLifetime: 20 }));
    await L.ha.stop();
    ha = (await startHa()).p;
  }, 120_000);

  afterAll(async () => {
    try {
      await mn?.stop(10_000);
    } finally {
      await lab?.destroy();
    }
  });

  /**
   * Kills the HA under a 20 ms ping, starts it again after `downMs` more, and returns the first
   * reply's delay after it is back.
   */
  async function restartUnderPing(mode: string, downMs = 0): Promise<number> {
    const ping = lab.spawn('mn', 'ping', ['-D', '-i', '0.02', '-W', '1', '-w', '25', '10.1.0.10'], { label: `ping-${mode}` });
    try {
      await sleep(1500);
      const before = replyTimes(ping.stdout()).length;
      expect(before, `the ping flows in mode ${mode} before the restart`).toBeGreaterThan(20);
      const n0 = events(mn!).length;
      const killedAt = Date.now();
      ha.kill('SIGKILL');
      await ha.exited;
      await sleep(downMs);
      const started = await startHa();
      ha = started.p;
      const { readyAt } = started;
      let first: number | undefined;
      for (const deadline = Date.now() + 10_000; first === undefined && Date.now() < deadline; await sleep(50)) {
        first = replyTimes(ping.stdout()).find((t) => t > readyAt);
      }
      const suspect = events(mn!).slice(n0).find((e) => e.type === 'liveness' && e.what === 'binding' && e.state === 'suspect');
      console.log(`[engine-ha-restart] mode ${mode}: HA down ${readyAt - killedAt} ms; binding suspect after ${suspect ? `${String(suspect.silentMs)} ms of silence` : 'never'}; `
        + `first ping reply ${first === undefined ? 'none within 10 s' : `${Math.round(first - readyAt)} ms`} after the HA was back`);
      expect(first, `a ping reply after the HA is back in mode ${mode}:\n${mn!.stdout().slice(-3000)}\nHA: ${ha.stdout().slice(-1500)}`).toBeDefined();
      expect(first! - readyAt).toBeLessThanOrEqual(3000);
      // the timeline tells it: suspect → refresh → accepted
      expect(suspect).toMatchObject({ what: 'binding', reason: 'one-sided', action: 'refresh' });
      const accepted = await waitEvent(mn!, n0, (e) => e.type === 'liveness' && e.what === 'binding' && e.result === 'accepted', 'the refresh accepted', 5000);
      expect(accepted).toMatchObject({ state: 'ok', action: 'refresh', reason: 'one-sided' });
      await ha.waitFor(/"event":"binding-added","homeAddress":"10.1.0.50"/, 5000, 'stdout');
      // no re-detection: the mode stayed what it was
      expect(events(mn!).slice(n0).filter((e) => e.type === 'mode').map((e) => e.mode)).toEqual([]);
      return first! - readyAt;
    } finally {
      ping.kill('SIGINT');
      await ping.exited;
    }
  }

  it('mode c, then mode mc through the strongSwan gateway: the HA killed and started again — first ping reply ≤ 3 s after it is back', async () => {
    mn = lab.spawn('mn', process.execPath, [...TSX, join(ROOT, 'bin/homeward.mjs'), 'run', '--profile', L.profile, '--json'], { env: L.env, label: 'homeward-run' });
    const c = await waitEvent(mn, 0, isMode('c'), 'mode c', 30_000);
    expect(c).toMatchObject({ coa: '10.2.0.100', hoa: HOA });
    await restartUnderPing('c');

    const n1 = events(mn).length;
    await L.toU1();
    const mc = await waitEvent(mn, n1, isMode('mc'), 'mode mc on U1', 30_000);
    expect(String(mc.coa)).toMatch(/^10\.10\.100\.\d+$/);
    await ha.waitFor(/"coa":"10\.10\.100\.\d+"/, 5000, 'stdout');
    // a longer outage: the refresh keeps retransmitting (every second at most) and the binding, without re-detecting
    await restartUnderPing('mc', 4000);
  }, 90_000);
});
