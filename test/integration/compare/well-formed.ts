/**
 * A strict XML well-formedness check for the HTML report (which is written to be well-formed XML as well as
 * HTML): one root element, properly nested and closed tags, quoted and unique attributes, and no `&` or `<`
 * except in valid references. Returns the problems found (empty when well-formed) and the element names seen.
 */
const namePattern = /^[A-Za-z_:][-A-Za-z0-9_:.]*$/;
const reference = /^&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/;

export interface WellFormedResult {
  problems: string[];
  elements: string[];
}

function checkText(text: string, at: number, problems: string[]): void {
  for (let i = text.indexOf('&'); i !== -1; i = text.indexOf('&', i + 1)) {
    if (!reference.test(text.slice(i, i + 12))) problems.push(`offset ${at + i}: bare & or unknown entity`);
  }
}

export function checkWellFormed(source: string): WellFormedResult {
  const problems: string[] = [];
  const elements: string[] = [];
  const stack: string[] = [];
  let roots = 0;
  let i = 0;
  const doctype = /^\s*<!DOCTYPE [^>]*>/i.exec(source);
  if (doctype) i = doctype[0].length;
  while (i < source.length && problems.length < 20) {
    const lt = source.indexOf('<', i);
    const text = source.slice(i, lt === -1 ? source.length : lt);
    if (stack.length === 0 && text.trim() !== '') problems.push(`offset ${i}: text outside the root element`);
    checkText(text, i, problems);
    if (lt === -1) break;
    if (source.startsWith('<!--', lt)) {
      const end = source.indexOf('-->', lt + 4);
      if (end === -1) {
        problems.push(`offset ${lt}: unterminated comment`);
        break;
      }
      i = end + 3;
      continue;
    }
    const gt = source.indexOf('>', lt);
    if (gt === -1) {
      problems.push(`offset ${lt}: unterminated tag`);
      break;
    }
    const tag = source.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const open = stack.pop();
      if (open !== name) problems.push(`offset ${lt}: </${name}> closes <${open ?? 'nothing'}>`);
      continue;
    }
    const selfClosing = tag.endsWith('/');
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const name = /^[^\s/>]+/.exec(body)?.[0] ?? '';
    if (!namePattern.test(name)) {
      problems.push(`offset ${lt}: bad element name "${name}"`);
      continue;
    }
    if (stack.length === 0) roots += 1;
    elements.push(name);
    let rest = body.slice(name.length);
    const seen = new Set<string>();
    for (;;) {
      rest = rest.replace(/^\s+/, '');
      if (rest === '') break;
      const attr = /^([^\s=]+)\s*=\s*("([^"<]*)"|'([^'<]*)')/.exec(rest);
      if (!attr) {
        problems.push(`offset ${lt}: <${name}> has a malformed attribute near "${rest.slice(0, 30)}"`);
        break;
      }
      const attrName = attr[1] as string;
      if (!namePattern.test(attrName)) problems.push(`offset ${lt}: bad attribute name "${attrName}"`);
      if (seen.has(attrName)) problems.push(`offset ${lt}: <${name}> repeats attribute ${attrName}`);
      seen.add(attrName);
      checkText(attr[3] ?? attr[4] ?? '', lt, problems);
      rest = rest.slice(attr[0].length);
    }
    if (!selfClosing) stack.push(name);
  }
  if (stack.length > 0) problems.push(`unclosed elements at the end: ${stack.join(' > ')}`);
  if (roots !== 1) problems.push(`expected one root element, found ${roots}`);
  return { problems, elements };
}
