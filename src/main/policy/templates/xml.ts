// Writing XML by hand safely: identifiers, text and attributes escaped or refused.
const ID = /^[A-Za-z0-9_]+$/;

export function checkedId(id: string): string {
  if (!ID.test(id)) throw new Error(`"${id}" is not a valid ADMX identifier (letters, digits and underscores only)`);
  return id;
}

// Characters XML 1.0 does not allow at all, even escaped.
const XML_FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/** Escapes text for XML element content. */
export function escapeXmlText(text: string): string {
  if (XML_FORBIDDEN.test(text)) throw new Error(`Text cannot be written to XML: ${JSON.stringify(text)}`);
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escapes text for a double-quoted XML attribute (and, for safety, a single-quoted one). */
export function escapeXmlAttribute(text: string): string {
  return escapeXmlText(text).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}

export function attributes(attrs: Record<string, string | number | boolean | undefined>): string {
  return Object.entries(attrs)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => ` ${name}="${escapeXmlAttribute(String(value))}"`)
    .join('');
}
