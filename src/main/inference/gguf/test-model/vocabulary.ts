// The test model's tokenizer: a SentencePiece-style vocabulary llama.cpp reads, and a ChatML template.

// SentencePiece token types as llama.cpp reads tokenizer.ggml.token_type.
const TOKEN_NORMAL = 1;
const TOKEN_UNKNOWN = 2;
const TOKEN_CONTROL = 3;
const TOKEN_BYTE = 6;

const WORDS = `the of and to in is was for on that with as by at from this be are or it an have has not which but
they their were been more after other when there all new about first two time also some into most only over such
these than then them would could should may can will each many where while during between under before because very
patient patients clinical care treatment dose doses daily blood pressure heart rate pain fever history medical
medication medications diagnosis symptoms acute chronic renal hepatic cardiac pulmonary normal abnormal test tests
result results lab labs imaging scan chest left right upper lower note notes plan follow review reviewed stable
improved worse therapy infection antibiotic antibiotics surgery surgical post pre day days week weeks month year
years age male female adult child allergy allergies none known reports denies presents admitted discharged
consult referral nurse physician team unit ward clinic hospital emergency record records data study studies
research trial cohort sample analysis model models value values level levels high low increase decrease risk
factor factors outcome outcomes primary secondary group control effect effects evidence report summary assessment
exam examination vital signs weight height mass index oxygen saturation glucose insulin diabetes asthma cancer
tumor stroke sepsis anemia kidney liver lung brain bone skin eye ear throat abdomen pelvis spine joint muscle
nerve vessel artery vein tissue cell cells gene protein dose mg ml per hour hours minute minutes once twice
continue start stop change increase monitor check repeat order ordered given taken tolerated well good poor
mild moderate severe likely unlikely possible consistent without within further recommend recommended advised
discussed agreed family consent informed`
  .split(/\s+/)
  .filter((w) => w !== '');

// Single characters so any ASCII text tokenises without falling back to bytes.
const CHARS = Array.from({ length: 126 - 33 + 1 }, (_, i) => String.fromCharCode(33 + i));

export interface Vocabulary {
  tokens: string[];
  scores: number[];
  types: number[];
  /** Tokens the model may emit: whole words and a little punctuation, so its noise reads as words. */
  emittable: Set<number>;
  bos: number;
  eos: number;
  unk: number;
}

export function buildVocabulary(): Vocabulary {
  const tokens: string[] = [];
  const types: number[] = [];
  const index = new Map<string, number>();
  const add = (text: string, type: number): number => {
    const known = index.get(text);
    if (known !== undefined) return known;
    index.set(text, tokens.length);
    tokens.push(text);
    types.push(type);
    return tokens.length - 1;
  };
  const unk = add('<unk>', TOKEN_UNKNOWN);
  const bos = add('<s>', TOKEN_CONTROL);
  const eos = add('</s>', TOKEN_CONTROL);
  // Byte fallback: llama.cpp's SPM tokenizer needs all 256 (and finds '\n' as <0x0A>).
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, TOKEN_BYTE);
  add('<|im_start|>', TOKEN_CONTROL);
  add('<|im_end|>', TOKEN_CONTROL);
  add('▁', TOKEN_NORMAL);
  for (const c of CHARS) add(c, TOKEN_NORMAL);
  const emittable = new Set<number>();
  for (const p of [',', '.']) emittable.add(add(p, TOKEN_NORMAL));
  for (const word of WORDS) {
    // SPM merges pairwise, so every prefix of "▁word" must be a token for the whole word to be reached.
    const piece = `▁${word}`;
    for (let end = 2; end < piece.length; end++) add(piece.slice(0, end), TOKEN_NORMAL);
    emittable.add(add(piece, TOKEN_NORMAL));
  }
  // SentencePiece convention: earlier (more frequent) pieces score higher; specials score 0.
  const scores = tokens.map((_, id) => (types[id] === TOKEN_NORMAL ? -id : 0));
  return { tokens, scores, types, emittable, bos, eos, unk };
}

// ChatML, so node-llama-cpp resolves its ChatMLChatWrapper from the template.
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
