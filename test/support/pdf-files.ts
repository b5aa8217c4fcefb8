/**
 * Small PDFs written by hand for upload and extraction tests, so no binary fixture is committed: a
 * valid PDF 1.4 with one page per entry of `pages` (Helvetica text objects, a correct xref table),
 * the same with a standard-security /Encrypt dictionary whose user password is not empty (readers
 * must ask for a password), and a damaged one (the header, then garbage).
 */

export interface PdfOptions {
  /** Adds an /Encrypt dictionary (RC4, revision 2) that no empty password opens. */
  isEncrypted?: boolean;
}

/** A PDF whose page i shows the lines of pages[i] (ASCII; parentheses and backslashes are escaped). */
export function pdfWithText(pages: readonly string[], options: PdfOptions = {}): Buffer {
  const objects: string[] = [];
  const pageIds = pages.map((_, i) => 4 + i * 2);
  const fontId = 3 + pages.length * 2 + 1;
  objects[1] = '<< /Type /Catalog /Pages 2 0 R >>';
  objects[2] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`;
  objects[3] = '<< /Producer (colmeia tests) >>';
  pages.forEach((text, i) => {
    const pageId = 4 + i * 2;
    const lines = text.split('\n').map((line) => `(${escapePdfString(line)}) '`);
    const content = `BT /F1 12 Tf 14 TL 72 740 Td ${lines.join(' ')} ET`;
    objects[pageId] = `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${pageId + 1} 0 R /Resources << /Font << /F1 ${fontId} 0 R >> >> >>`;
    objects[pageId + 1] = `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`;
  });
  objects[fontId] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>';
  let trailerExtra = '';
  if (options.isEncrypted) {
    const encryptId = fontId + 1;
    objects[encryptId] = `<< /Filter /Standard /V 1 /R 2 /Length 40 /P -44 /O <${'7a'.repeat(32)}> /U <${'c3'.repeat(32)}> >>`;
    trailerExtra = ` /Encrypt ${encryptId} 0 R /ID [<${'11'.repeat(16)}> <${'11'.repeat(16)}>]`;
  }
  return assemble(objects, trailerExtra);
}

/** Starts like a PDF and then is not one: no objects, no xref, random bytes. */
export function corruptPdf(): Buffer {
  const garbage = Buffer.alloc(2048);
  for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) % 251;
  return Buffer.concat([Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1'), garbage]);
}

function assemble(objects: readonly (string | undefined)[], trailerExtra: string): Buffer {
  let body = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = Buffer.byteLength(body, 'latin1');
    body += `${id} 0 obj\n${objects[id] ?? 'null'}\nendobj\n`;
  }
  const xrefAt = Buffer.byteLength(body, 'latin1');
  body += `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
  for (let id = 1; id < objects.length; id++) body += `${String(offsets[id]).padStart(10, '0')} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length} /Root 1 0 R /Info 3 0 R${trailerExtra} >>\nstartxref\n${xrefAt}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

function escapePdfString(text: string): string {
  return text.replace(/[\\()]/g, (char) => `\\${char}`);
}
