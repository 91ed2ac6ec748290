import { closest, distance } from 'fastest-levenshtein';

/** "; did you mean "x"?" for a near miss, then the names there are (a few of them). */
export function suggestions(noun: string, name: string, names: string[]): string {
  const unique = [...new Set(names)].sort();
  if (!unique.length) return '';
  const best = closest(name, unique);
  const near =
    distance(name.toLowerCase(), best.toLowerCase()) <= Math.max(1, Math.floor(name.length / 3)) ||
    best.toLowerCase().includes(name.toLowerCase())
      ? `; did you mean "${best}"?`
      : '';
  const shown = unique.slice(0, 10).join(', ');
  const more = unique.length > 10 ? ` and ${unique.length - 10} more` : '';
  return `${near} (${noun === 'class' ? 'classes' : `${noun}s`}: ${shown}${more})`;
}
