import type { it } from './it.js';

/** Every visible string of the console, in one language: the Italian dictionary's shape, which the others follow. */
export type Dictionary = { readonly [K in keyof typeof it]: (typeof it)[K] };
