/** What a benchmark section is: a named async producer of figures (and raw data). */
import type { Figure } from '../lib/results.ts';

export type Progress = (line: string) => void;

export type SectionOutput = Figure[] | { figures: Figure[]; raw?: unknown };

export interface Section {
  /** also the prefix of its figures' keys ("throughput" → "throughput.…") */
  name: string;
  run(progress: Progress): Promise<SectionOutput>;
}
