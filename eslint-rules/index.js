// Enclave's own lint rules, used by eslint.config.js as the `enclave` plugin.
import frontDoor from './front-door.js';
import layers from './layers.js';
import longFileReason from './long-file-reason.js';
import noLiteralText from './no-literal-text.js';

export default {
  meta: { name: 'eslint-plugin-enclave' },
  rules: { layers, 'front-door': frontDoor, 'long-file-reason': longFileReason, 'no-literal-text': noLiteralText },
};
