/** commander's argument parser for an option given several times: each value appended to the list. */
export function collectRepeated(value: string, previous: readonly string[]): string[] {
  return [...previous, value];
}
