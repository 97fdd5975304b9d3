// Label fonts for MapLibre's font-faces: Noto Sans (SIL Open Font
// Licence, npm @fontsource/noto-sans), bundled by Vite and served by our
// own server. MapLibre draws glyphs from these files itself, so street,
// place and fence names need no glyph server and no request off the host.
// Code points none of them covers (CJK) are drawn with the browser's
// local fonts.
import unicode from '@fontsource/noto-sans/unicode.json';
import latin400 from '@fontsource/noto-sans/files/noto-sans-latin-400-normal.woff2?url';
import latinExt400 from '@fontsource/noto-sans/files/noto-sans-latin-ext-400-normal.woff2?url';
import greek400 from '@fontsource/noto-sans/files/noto-sans-greek-400-normal.woff2?url';
import cyrillic400 from '@fontsource/noto-sans/files/noto-sans-cyrillic-400-normal.woff2?url';
import cyrillicExt400 from '@fontsource/noto-sans/files/noto-sans-cyrillic-ext-400-normal.woff2?url';
import vietnamese400 from '@fontsource/noto-sans/files/noto-sans-vietnamese-400-normal.woff2?url';
import latin700 from '@fontsource/noto-sans/files/noto-sans-latin-700-normal.woff2?url';
import latinExt700 from '@fontsource/noto-sans/files/noto-sans-latin-ext-700-normal.woff2?url';
import greek700 from '@fontsource/noto-sans/files/noto-sans-greek-700-normal.woff2?url';
import cyrillic700 from '@fontsource/noto-sans/files/noto-sans-cyrillic-700-normal.woff2?url';
import cyrillicExt700 from '@fontsource/noto-sans/files/noto-sans-cyrillic-ext-700-normal.woff2?url';
import vietnamese700 from '@fontsource/noto-sans/files/noto-sans-vietnamese-700-normal.woff2?url';
import { fontFaces } from './fontfaces.js';

const FILES = {
  400: { latin: latin400, 'latin-ext': latinExt400, greek: greek400, cyrillic: cyrillic400, 'cyrillic-ext': cyrillicExt400, vietnamese: vietnamese400 },
  700: { latin: latin700, 'latin-ext': latinExt700, greek: greek700, cyrillic: cyrillic700, 'cyrillic-ext': cyrillicExt700, vietnamese: vietnamese700 },
};

// labelFontFaces is the style's font-faces object, with absolute URLs.
export function labelFontFaces(base = location.href) {
  return fontFaces(FILES, unicode, (u) => new URL(u, base).href);
}
