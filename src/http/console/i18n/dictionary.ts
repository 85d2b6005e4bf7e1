import { it } from './it.js';
import { en } from './en.js';
import type { Dictionary } from './dictionary-shape.js';

export type { Dictionary };

export type Language = 'it' | 'en';

const DICTIONARIES: Readonly<Record<Language, Dictionary>> = { it, en };

export function dictionaryFor(lang: Language): Dictionary {
  return DICTIONARIES[lang];
}

/** A language the console speaks, from a query or a cookie value; undefined for anything else. */
export function languageOf(v: unknown): Language | undefined {
  return v === 'it' || v === 'en' ? v : undefined;
}
