// The engine the renderer bench seeds its 200-message session with: the real
// llama.cpp engine (the test model is loaded, checked and counted as in
// production) except that each answer is a ready-written markdown reply,
// streamed in one piece. The chat service stores, seals and audits it as any
// answer, and the conversation then holds what clinicians' answers look like
// (lists, tables, code, emphasis) instead of the test model's noise, at a
// fraction of the time 100 generated answers take on two CPU cores.
import { createLlamaEngine, type InferenceEngine } from '../../src/main/inference/index.js';

const ANSWERS = [
  `## Discharge summary

Mr A, 67, was admitted with **community-acquired pneumonia** (CURB-65 score 2). He received intravenous co-amoxiclav and clarithromycin for three days, then oral antibiotics to complete seven days.

- Oxygen saturation improved from 89% to 96% on room air.
- Renal function stayed normal throughout (eGFR > 60).
- He is mobile and eating well.

**Follow-up:** GP review in two weeks; repeat chest X-ray in six weeks to confirm resolution.`,
  `Red flags for cauda equina syndrome to ask about:

1. Bilateral sciatica, or leg pain that alternates sides
2. Saddle anaesthesia (numbness around the perineum or buttocks)
3. New difficulty passing urine, or incontinence
4. New faecal incontinence or loss of anal sensation
5. Sexual dysfunction of recent onset
6. Progressive leg weakness

Any one of these with back pain needs **same-day** assessment and an MRI.`,
  `| Drug class | Example | Common side effect |
|---|---|---|
| ACE inhibitor | ramipril | dry cough |
| ARB | losartan | dizziness |
| Calcium-channel blocker | amlodipine | ankle swelling |
| Thiazide-like diuretic | indapamide | low sodium |

Check *renal function and potassium* one to two weeks after starting an ACE inhibitor or ARB.`,
  `Your blood sugar test (HbA1c) is a bit high. This means there has been more sugar in your blood than we would like over the last three months.

We will slowly increase your metformin tablets. Take them with food to avoid an upset stomach. We will check the test again in **12 weeks**.

If you feel very thirsty, pass a lot of urine or feel unwell, please call the surgery.`,
  `A falls history for an older adult:

- **Circumstances:** where, when, what were you doing; any warning?
- **Symptoms:** dizziness, palpitations, chest pain, loss of consciousness
- **Medicines:** antihypertensives, sedatives, diuretics — any recent change?
- **Function:** walking aid, vision, footwear, fear of falling
- **Consequences:** injuries, long lie, able to get up

Consider lying and standing blood pressure and a \`Timed Up and Go\` test.`,
  `Dear Ms B,

Thank you for your message. We have moved your appointment from **Tuesday** to **Thursday at 14:30** with the same clinician. If this time does not suit you, please reply and we will offer another.

Kind regards,
The clinic team`,
];

export function seedAnswer(index: number): string {
  return ANSWERS[index % ANSWERS.length] ?? '';
}

/** The real engine, answering from the list above instead of generating. */
export function createSeedEngine(): InferenceEngine {
  const engine = createLlamaEngine();
  let answered = 0;
  return {
    load: (model, options) => engine.load(model, options),
    loaded: () => engine.loaded(),
    countTokens: (model, text, gpu) => engine.countTokens(model, text, gpu),
    generate: (request) => {
      const text = seedAnswer(answered++);
      request.onText(text);
      return Promise.resolve({ text, promptTokens: Math.ceil(request.prompt.length / 4), responseTokens: Math.ceil(text.length / 4), stopReason: 'eos' as const });
    },
    disposeChat: (chatId) => engine.disposeChat(chatId),
    disposeAllChats: () => engine.disposeAllChats(),
    unload: () => engine.unload(),
  };
}
