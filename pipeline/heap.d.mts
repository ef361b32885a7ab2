/** Types of heap.mjs (plain JS, run by bin.mjs before anything is compiled). */
import type { PerformanceObserver } from 'node:perf_hooks';

export declare const YOUNG_GENERATION_BYTES: number;
export declare function hasYoungGenerationFlags(execArgv?: string[], nodeOptions?: string): boolean;
export declare function capYoungGeneration(bytes?: number): PerformanceObserver | null;
export declare const HEAP_GROWING_PERCENT: number;
export declare function hasHeapGrowingFlag(execArgv?: string[], nodeOptions?: string): boolean;
export declare function capHeapGrowth(percent?: number): boolean;
export declare function keepPipelineHeap(): void;
