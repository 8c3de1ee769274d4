// A 3x5 pixel font (digits, upper-case letters, a little punctuation) for labels drawn into PNGs
// without a canvas or a font file. Lower case is drawn as upper case; other characters as '?'.

export const GLYPH_WIDTH = 3;
export const GLYPH_HEIGHT = 5;

// Five rows of three pixels each, '#' = ink.
const GLYPHS: Record<string, string> = {
  A: '.#. #.# ### #.# #.#', B: '##. #.# ##. #.# ##.', C: '.## #.. #.. #.. .##', D: '##. #.# #.# #.# ##.',
  E: '### #.. ##. #.. ###', F: '### #.. ##. #.. #..', G: '.## #.. #.# #.# .##', H: '#.# #.# ### #.# #.#',
  I: '### .#. .#. .#. ###', J: '..# ..# ..# #.# .#.', K: '#.# #.# ##. #.# #.#', L: '#.. #.. #.. #.. ###',
  M: '#.# ### ### #.# #.#', N: '##. #.# #.# #.# #.#', O: '.#. #.# #.# #.# .#.', P: '##. #.# ##. #.. #..',
  Q: '.#. #.# #.# ##. .##', R: '##. #.# ##. #.# #.#', S: '.## #.. .#. ..# ##.', T: '### .#. .#. .#. .#.',
  U: '#.# #.# #.# #.# ###', V: '#.# #.# #.# #.# .#.', W: '#.# #.# ### ### #.#', X: '#.# #.# .#. #.# #.#',
  Y: '#.# #.# .#. .#. .#.', Z: '### ..# .#. #.. ###',
  0: '### #.# #.# #.# ###', 1: '.#. ##. .#. .#. ###', 2: '##. ..# .#. #.. ###', 3: '##. ..# .#. ..# ##.',
  4: '#.# #.# ### ..# ..#', 5: '### #.. ##. ..# ##.', 6: '.## #.. ### #.# ###', 7: '### ..# .#. .#. .#.',
  8: '### #.# ### #.# ###', 9: '### #.# ### ..# ##.',
  ' ': '... ... ... ... ...', '.': '... ... ... ... .#.', '-': '... ... ### ... ...', '/': '..# ..# .#. #.. #..',
  '%': '#.# ..# .#. #.. #.#', '?': '##. ..# .#. ... .#.', ':': '... .#. ... .#. ...', '(': '.#. #.. #.. #.. .#.',
  ')': '.#. ..# ..# ..# .#.', '_': '... ... ... ... ###', '=': '... ### ... ### ...',
};

/** The glyph of `ch` as GLYPH_HEIGHT rows of GLYPH_WIDTH booleans. */
export function glyph(ch: string): boolean[][] {
  const rows = GLYPHS[ch.toUpperCase()] ?? GLYPHS['?'];
  return rows.split(' ').map((row) => [...row].map((c) => c === '#'));
}

/** Width in pixels of `text` at `scale` (one blank column between glyphs). */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * (GLYPH_WIDTH + 1) - 1) * scale;
}
