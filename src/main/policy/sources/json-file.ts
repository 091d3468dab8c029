// JSON policy files: /etc/enclave/policy.json and policy.d/*.json on Linux, the
// built-in evaluation policy, and any file given to `enclave policy validate`.
import { FILE_SIZE_LIMITS, readLimitedFileSync, UnreadableFileError } from '../../files/index.js';
import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { emptyLayer, layerFromDocument, type PolicyLayer } from '../resolve.js';

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

const SYNTAX: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'malformed number',
  PropertyNameExpected: 'expected a quoted property name',
  ValueExpected: 'expected a value',
  ColonExpected: 'expected ":"',
  CommaExpected: 'expected ","',
  CloseBraceExpected: 'expected "}"',
  CloseBracketExpected: 'expected "]"',
  EndOfFileExpected: 'unexpected text after the end of the JSON value',
  InvalidCommentToken: 'comments are not allowed in JSON',
  UnexpectedEndOfComment: 'unterminated comment',
  UnexpectedEndOfString: 'unterminated string',
  UnexpectedEndOfNumber: 'unterminated number',
  InvalidUnicode: 'malformed \\u escape',
  InvalidEscapeCharacter: 'malformed escape sequence',
  InvalidCharacter: 'control character in a string',
};

export type StrictJson = { ok: true; value: unknown } | { ok: false; problem: string };

/**
 * Parses JSON strictly (no comments, no trailing commas). A syntax error is
 * told by what was expected and where (line and column), never by quoting the
 * text: a policy value may hold a secret (a HEC token). JSON.parse's own
 * message quotes the text, so it is never used for policy.
 */
export function parseStrictJson(text: string): StrictJson {
  const errors: ParseError[] = [];
  const value: unknown = parse(text.replace(/^\uFEFF/, ''), errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (errors.length === 0) return { ok: true, value };
  const first = errors[0]!;
  const { line, column } = lineAndColumn(text, first.offset);
  const code = printParseErrorCode(first.error);
  return { ok: false, problem: `${SYNTAX[code] ?? 'not JSON'} at line ${line}, column ${column}` };
}

/** Parses policy JSON strictly (no comments, no trailing commas); syntax errors carry line and column. */
export function layerFromJsonText(text: string, source: string): PolicyLayer {
  const parsed = parseStrictJson(text);
  if (!parsed.ok) {
    const layer = emptyLayer(source);
    layer.problems.push({ key: null, source, message: `is not valid JSON: ${parsed.problem}` });
    return layer;
  }
  return layerFromDocument(parsed.value, source);
}

/**
 * A missing file is no source at all (null); an unreadable one is a problem.
 * Only a regular file of at most 1 MiB is read: a FIFO or a device in its place
 * (a mistake, or a planted one) is refused at once rather than blocking or
 * filling memory, here and in the running core's policy watcher.
 */
export function readJsonPolicyFile(path: string, options: { required?: boolean } = {}): PolicyLayer | null {
  let text: string;
  try {
    text = readLimitedFileSync(path, { maxBytes: FILE_SIZE_LIMITS.policy }).toString('utf8');
  } catch (error) {
    if (!(error instanceof UnreadableFileError)) throw error;
    if (error.errno === 'ENOENT' && !options.required) return null;
    const layer = emptyLayer(path);
    layer.problems.push({ key: null, source: path, message: error.reason === 'missing' ? 'cannot be read: the file does not exist' : error.problem });
    return layer;
  }
  return layerFromJsonText(text, path);
}
