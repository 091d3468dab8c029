// The one policy schema. Every source (Group Policy, MDM, /etc, the evaluation
// file) is read against it, and every template IT uses (JSON Schema, ADMX/ADML,
// the macOS profile, the admin guide's reference table) is generated from it by
// `npm run generate:policy`, so nothing can drift.
//
// Metadata read by the generators and the sources, set with `.meta()`:
// - description: the text IT sees in the Group Policy editor and the guide.
// - userSettable: HKCU (the user's own registry hive) may set it when HKLM
//   does not. Only preferences that weaken nothing are user-settable.
import { z } from 'zod';
import { LocalPath } from '../../shared/local-path.js';
import { CHAT_ROLES, ROLES } from '../../shared/roles.js';

const Role = z.enum(ROLES);
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex characters (SHA-256)');
const Slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be lower-case letters, digits and dashes');
// No NUL or control characters (see shared/local-path.ts); the bounds are as before.
const FilePath = LocalPath;
const Oid = z.string().regex(/^[0-2](\.(0|[1-9][0-9]*))+$/, 'must be a dotted object identifier such as 1.3.6.1.4.1.311.20.2.2');
/** The longest acceptable-use statement policy may carry, in characters. */
export const ACCEPTABLE_USE_MAX_CHARS = 20_000;
const HostPort = z.string().regex(/^[A-Za-z0-9.-]+:[0-9]{1,5}$/, 'must be host:port');

/**
 * Chat templates a model entry may force: the chat wrappers node-llama-cpp
 * 3.21 builds from a name alone (its `specializedChatWrapperTypeNames`; a unit
 * test keeps the two lists equal). Left out on purpose: `auto` (the default,
 * so leave the key out) and `template` / `jinjaTemplate`, which need a
 * template body; without one node-llama-cpp silently picks another wrapper.
 */
export const CHAT_TEMPLATES = [
  'general',
  'deepSeek',
  'qwen',
  'llama3.2-lightweight',
  'llama3.1',
  'llama3',
  'llama2Chat',
  'mistral',
  'alpacaChat',
  'functionary',
  'chatML',
  'falconChat',
  'gemma4',
  'gemma',
  'harmony',
  'muse',
  'seed',
] as const;
export type ChatTemplate = (typeof CHAT_TEMPLATES)[number];

const oneOf = (values: readonly string[]) => `must be one of ${values.join(', ')}`;
const GPU_LAYERS_ERROR = 'must be "auto" or a whole number of layers from 0 to 1024';

export const ModelEntry = z
  .object({
    id: Slug.meta({ description: 'Short identifier that workloads name in `model`, e.g. clinical-8b.' }),
    name: z.string().min(1).max(200).meta({ description: 'The name users see.' }),
    path: FilePath.meta({ description: 'Where the GGUF file is on the workstation.' }),
    sha256: Sha256.meta({ description: 'SHA-256 of the file; a file with any other hash is never loaded.' }),
    contextSize: z.number().int().min(256).max(1_048_576).default(4096).meta({ description: 'Context window in tokens (prompt, history and answer together).' }),
    gpuLayers: z
      .union([z.literal('auto'), z.number().int(GPU_LAYERS_ERROR).min(0, GPU_LAYERS_ERROR).max(1024, GPU_LAYERS_ERROR)], { error: GPU_LAYERS_ERROR })
      .default('auto')
      .meta({
        description:
          "Layers to offload to the GPU: auto fits as many as free VRAM allows; 0 keeps the model on the CPU; a number above the model's layer count offloads all of them. inference.gpu = off overrides it.",
      }),
    chatTemplate: z
      .enum(CHAT_TEMPLATES, { error: oneOf(CHAT_TEMPLATES) })
      .optional()
      .meta({ description: `Force a chat template (node-llama-cpp chat wrapper) when the one detected from the file is wrong: ${CHAT_TEMPLATES.join(', ')}. Leave out to detect it.` }),
  })
  .strict();

export const WorkloadEntry = z
  .object({
    id: Slug.meta({ description: 'Short identifier recorded in every audit event of the workload, e.g. note-summary.' }),
    name: z.string().min(1).max(200).meta({ description: 'The name users pick.' }),
    description: z.string().min(1).max(500).optional().meta({ description: 'One or two sentences shown under the name in the picker.' }),
    /** A model id from `models`, or null to use the evaluation model chosen on first run. */
    model: Slug.nullable().meta({ description: 'The id of the model in inference.models it routes to (null: the evaluation model, evaluation only).' }),
    systemPrompt: z.string().max(20_000).optional().meta({ description: 'Instructions the model reads before every conversation of this workload.' }),
    roles: z
      .array(z.enum(ROLES, { error: oneOf(ROLES) }))
      .min(1, 'needs at least one role; to offer a workload to nobody, remove it')
      .default([...CHAT_ROLES])
      .meta({ description: `Roles whose holders may use it (default: ${CHAT_ROLES.join(' and ')}). Only ${CHAT_ROLES.join(' and ')} can chat at all.` }),
    maxTokens: z.number().int().min(1).max(32_768).optional().meta({ description: 'Longest answer in tokens for this workload; never more than inference.maxResponseTokens (default: that limit).' }),
    temperature: z
      .number()
      .min(0)
      .max(2)
      .optional()
      .meta({ description: 'Sampling temperature from 0 to 2; 0 always picks the most likely token, so the same prompt gets the same answer (default: 0).' }),
  })
  .strict()
  .superRefine((workload, ctx) => {
    if (workload.roles.length > 0 && !workload.roles.some((role) => (CHAT_ROLES as readonly string[]).includes(role))) {
      ctx.addIssue({
        code: 'custom',
        path: ['roles'],
        message: `needs ${CHAT_ROLES.join(' or ')}: only they can chat, so no one with ${workload.roles.join(', ')} alone could use this workload`,
      });
    }
  });

const TlsClientFiles = {
  caFile: FilePath.optional().meta({ description: "PEM file of the CA(s) that signed the receiver's certificate; default: the operating system's trust store." }),
  clientCertFile: FilePath.optional().meta({ description: 'PEM client certificate for mutual TLS.' }),
  clientKeyFile: FilePath.optional().meta({ description: 'PEM private key of the client certificate.' }),
};

export const SiemDestination = z.discriminatedUnion('type', [
  z
    .object({
      id: Slug,
      type: z.literal('syslog-tls'),
      address: HostPort.meta({ description: 'Receiver, e.g. siem.example.org:6514 (RFC 5425).' }),
      format: z.enum(['rfc5424-json', 'cef', 'leef']).default('rfc5424-json'),
      ...TlsClientFiles,
    })
    .strict(),
  z
    .object({
      id: Slug,
      type: z.literal('splunk-hec'),
      url: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }),
      token: z.string().min(1).max(200).optional().meta({
        description: 'The HEC token, inline. Every local account can read policy (the registry, /etc/enclave, managed preferences): prefer tokenFile. Set token or tokenFile, not both.',
      }),
      tokenFile: FilePath.optional().meta({
        description:
          'A file holding the HEC token alone (a trailing newline is fine), readable only by the account Enclave runs as (POSIX: mode 0600 or 0400; Windows: an ACL for that account and Administrators only). Read at each send; refused, and nothing sent, when group or others can read it, or when it is missing, empty or holds more than the token.',
      }),
      indexerAcknowledgement: z.boolean().default(false),
      ...TlsClientFiles,
    })
    .strict()
    // Exactly one of token and tokenFile (checked in PolicySchema's refinement); said here for the JSON Schema and the templates.
    .meta({
      oneOf: [
        { properties: { token: { type: 'string' } }, required: ['token'] },
        { properties: { tokenFile: { type: 'string' } }, required: ['tokenFile'] },
      ],
    }),
  z
    .object({
      id: Slug,
      type: z.literal('https-json'),
      url: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }),
      ...TlsClientFiles,
    })
    .strict(),
]);

const roleGroups = z.array(z.string().min(1).max(1024)).default([]);

export const PolicySchema = z
  .object({
    $schema: z.string().optional(),
    mode: z
      .enum(['evaluation', 'managed'])
      .default('managed')
      .meta({ description: 'managed for every real deployment. evaluation allows local accounts, a key file and user-chosen models, and is only for trying Enclave out.' }),
    institution: z
      .object({ name: z.string().min(1).max(200).default('Enclave').meta({ description: "Shown on the sign-in screen and in every audit record's origin." }) })
      .strict()
      .prefault({})
      .meta({ title: 'Institution' }),
    storage: z
      .object({
        allowKeyFile: z.boolean().default(false).meta({
          description: 'Evaluation only: keep the database key in a key file instead of the OS key store. A key file next to the database protects nothing.',
        }),
        chatRetentionDays: z.number().int().min(0).max(36_500).default(30).meta({ description: 'Days a chat is kept on the workstation after its last message (0: deleted when the session ends).' }),
      })
      .strict()
      .prefault({})
      .meta({ title: 'Storage' }),
    session: z
      .object({
        idleLockSeconds: z.number().int().min(5).max(28_800).default(900).meta({ description: 'Lock after this many seconds without input (HIPAA automatic logoff).' }),
        maxFailedSignIns: z.number().int().min(1).max(100).default(5).meta({
          description:
            'Failed sign-ins (or unlocks) in a row before the account is locked out, counted per account whatever form of the name is typed and kept across restarts. That many failed unlocks at the lock screen also sign the session out.',
        }),
        failedSignInLockoutSeconds: z.number().int().min(1).max(86_400).default(60).meta({
          description: 'How long the first lockout lasts. Each further lockout without a successful sign-in in between lasts twice as long, up to failedSignInLockoutMaxSeconds.',
        }),
        failedSignInLockoutMaxSeconds: z.number().int().min(1).max(86_400).default(3600).meta({
          description: 'The longest a lockout grows to by doubling (never less than failedSignInLockoutSeconds). A successful sign-in starts again from failedSignInLockoutSeconds.',
        }),
      })
      .strict()
      .prefault({})
      .meta({ title: 'Session and lock' }),
    acceptableUse: z
      .object({
        text: z.string().min(1).max(ACCEPTABLE_USE_MAX_CHARS).optional().meta({
          description:
            'The acceptable-use statement each person must accept, in plain text (a blank line starts a new paragraph). Shown at sign-in when they have not accepted this text within intervalDays; declining signs them out; both are audited as auth.attest with the text\'s SHA-256, never the text. Leave out for no statement.',
        }),
        intervalDays: z.number().int().min(0).max(3650).default(365).meta({
          description: 'Days an acceptance lasts before the statement is shown again (0: at every sign-in). A changed text is shown again at the next sign-in whatever the interval.',
        }),
      })
      .strict()
      .prefault({})
      .meta({ title: 'Acceptable use' }),
    directory: z
      .object({
        servers: z
          .array(z.url({ protocol: /^ldaps?$/, error: 'must be an ldaps:// or ldap:// URL' }))
          .default([])
          .meta({ description: 'Active Directory domain controllers, tried in order, e.g. ldaps://dc1.corp.example.org:636.' }),
        startTls: z.boolean().default(true).meta({ description: 'Upgrade ldap:// connections with StartTLS. ldaps:// servers use TLS from the start.' }),
        allowUnencryptedLab: z.boolean().default(false).meta({ description: 'Lab only: allow ldap:// without StartTLS. Passwords then cross the network in the clear.' }),
        caFile: FilePath.optional().meta({ description: "PEM file of the CA(s) that signed the domain controllers' certificates; default: the operating system's trust store." }),
        baseDn: z.string().max(1024).default('').meta({ description: 'Where users are searched, e.g. DC=corp,DC=example,DC=org.' }),
        netbiosDomain: z
          .string()
          .max(15)
          .default('')
          .meta({ description: 'The pre-Windows 2000 domain name users may type as DOMAIN\\user. Empty: DOMAIN\\name is refused; users type name or name@domain.' }),
        upnSuffix: z.string().max(253).default('').meta({ description: 'Appended to a bare user name to form the UPN, e.g. corp.example.org.' }),
        timeoutSeconds: z.number().int().min(1).max(120).default(10).meta({ description: 'How long to wait for one domain controller before trying the next.' }),
        offlineSignInDays: z.number().int().min(0).max(90).default(7).meta({
          description:
            'Days after an online sign-in with a password that the same user may sign in, or unlock, with it while no domain controller answers. The offline verifier (a slow salted hash of the password) is deleted once it is older than this (0: never offline, and no verifier is stored).',
        }),
        lookupAccount: z.string().max(256).default('').meta({
          description:
            "Optional read-only account (UPN or DOMAIN\\name) used to look up a smart card's owner, so a card works before its owner ever signed in with a password here and roles are current. Empty: cards map to accounts that signed in here before.",
        }),
        lookupPasswordFile: FilePath.optional().meta({ description: "File holding the lookup account's password; readable only by administrators and the app." }),
        roleGroups: z
          .object({
            clinician: roleGroups.meta({ description: 'Distinguished names of the AD groups (nested membership counts) whose members are clinicians.' }),
            researcher: roleGroups.meta({ description: 'AD groups whose members are researchers.' }),
            compliance: roleGroups.meta({ description: 'AD groups whose members are compliance officers (audit review and export).' }),
            administrator: roleGroups.meta({ description: 'AD groups whose members administer Enclave on the workstation.' }),
          })
          .strict()
          .prefault({})
          .meta({ title: 'Role groups' }),
      })
      .strict()
      .prefault({})
      .meta({ title: 'Directory (Active Directory)' }),
    smartCard: z
      .object({
        enabled: z.boolean().default(false).meta({ description: 'Offer smart-card (PIV/CAC) sign-in.' }),
        pkcs11Module: FilePath.optional().meta({ description: "The card middleware's PKCS#11 library, e.g. /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so or C:\\Windows\\System32\\opensc-pkcs11.dll." }),
        caFiles: z.array(FilePath).default([]).meta({ description: "PEM files of the institution's CA certificates that card certificates must chain to." }),
        crlFiles: z.array(FilePath).default([]).meta({
          description:
            'CRL files (DER or PEM) of every CA that issues card or CA certificates; the card and each CA in its chain are checked. A CRL must carry nextUpdate and not be dated more than 5 minutes ahead.',
        }),
        requiredEkus: z.array(Oid).default(['1.3.6.1.4.1.311.20.2.2']).meta({ description: 'Extended key usages the card certificate must carry (default: Microsoft smart-card logon).' }),
        requiredPolicyOids: z.array(Oid).default([]).meta({ description: 'Certificate policy OIDs of which the card certificate must carry at least one (empty: not checked).' }),
        staleCrl: z.enum(['refuse', 'warn']).default('refuse').meta({ description: 'What to do when a CRL is past its nextUpdate: refuse the card, or warn during the grace period.' }),
        staleCrlGraceHours: z.number().int().min(0).max(720).default(24).meta({ description: 'With staleCrl = warn: hours past nextUpdate a CRL is still accepted.' }),
        offlineMaxAgeDays: z.number().int().min(0).max(90).default(7).meta({
          description:
            "When the directory cannot be asked about a card's owner (no lookup account, or no domain controller answers), days after the owner's last online sign-in or lookup here that the card still signs in with the roles of then (0: only when the directory answers the lookup).",
        }),
      })
      .strict()
      .prefault({})
      .meta({ title: 'Smart card' }),
    breakGlass: z
      .object({
        enabled: z.boolean().default(false).meta({ description: 'Allow emergency sign-in, with a typed reason, when the normal path fails.' }),
        groups: z.array(z.string().min(1).max(1024)).default([]).meta({ description: 'AD groups whose members may use break-glass sign-in.' }),
        durationMinutes: z.number().int().min(5).max(720).default(60).meta({ description: 'How long a break-glass session lasts before it ends.' }),
        offlineMaxAgeDays: z.number().int().min(0).max(90).default(14).meta({
          description:
            "While no domain controller answers, days after a break-glass member's last online sign-in with a password here that emergency access still works against their offline verifier; their verifier is kept for the longer of this and directory.offlineSignInDays (0: no offline emergency access).",
        }),
      })
      .strict()
      .prefault({})
      .meta({ title: 'Break-glass access' }),
    audit: z
      .object({
        batchMaxEvents: z.number().int().min(1).max(100_000).default(500).meta({ description: 'Seal a signed batch after this many events.' }),
        batchMaxSeconds: z.number().int().min(5).max(86_400).default(300).meta({ description: 'Seal a signed batch at least this often while events are waiting.' }),
        heartbeatSeconds: z.number().int().min(60).max(86_400).default(3600).meta({ description: 'Seal an empty heartbeat batch this often while idle, proving that nothing happened.' }),
        localRetentionDays: z.number().int().min(0).max(3650).default(30).meta({ description: 'Days a batch stays on the workstation after every SIEM destination confirmed it.' }),
      })
      .strict()
      .prefault({})
      .meta({ title: 'Audit batches' }),
    siem: z
      .object({
        destinations: z.array(SiemDestination).default([]).meta({
          description: 'Where signed audit batches are delivered, each with its own cursor: syslog-tls (RFC 5425), splunk-hec or https-json. A JSON array (a string in the registry).',
        }),
        enterpriseNumber: z
          .number()
          .int()
          .min(1)
          .max(4_294_967_295)
          .default(32473)
          .meta({ description: 'IANA Private Enterprise Number in RFC 5424 structured data (32473 is the documentation number).' }),
      })
      .strict()
      .prefault({})
      .meta({ title: 'SIEM delivery' }),
    inference: z
      .object({
        models: z.array(ModelEntry).default([]).meta({
          description:
            'The models IT deployed, each with id, name, path, sha256, contextSize, gpuLayers (auto or a number; 0 keeps it on the CPU) and an optional chatTemplate override. A file whose hash differs is never loaded. A JSON array (a string in the registry).',
        }),
        workloads: z
          .array(WorkloadEntry)
          .min(1)
          .default([{ id: 'general', name: 'General', model: null, roles: [...CHAT_ROLES] }])
          .meta({
            description:
              'What users can pick, each naming the model it routes to, with an optional description and system prompt, the roles allowed to use it (default: clinician and researcher) and its own maxTokens and temperature. Users see only the workloads their roles allow. A JSON array (a string in the registry).',
          }),
        allowUserModels: z.boolean().default(false).meta({ description: 'Evaluation only: the first-run screen may add a local GGUF file or generate the test model.' }),
        gpu: z.enum(['auto', 'off', 'cuda', 'vulkan', 'metal']).default('auto').meta({
          description:
            'auto offloads to a CUDA, Vulkan or Metal GPU when present; off keeps inference on the CPU; cuda, vulkan or metal asks for that backend alone. Where the GPU cannot be used (no driver, not enough memory), Enclave falls back to fewer GPU layers, then the CPU, and says so.',
          userSettable: true,
        }),
        maxPromptChars: z.number().int().min(1).max(200_000).default(16_000).meta({ description: 'Longest prompt a user may send, in characters.' }),
        maxResponseTokens: z.number().int().min(1).max(32_768).default(1024).meta({ description: 'Longest answer the model may write, in tokens.' }),
        deterministic: z.boolean().default(false).meta({
          description: 'For tests and IT acceptance checks: every answer uses temperature 0 and a fixed sampling seed, so the same prompt to the same model always gives the same answer.',
        }),
      })
      .strict()
      .prefault({})
      .meta({ title: 'Models and workloads' }),
    roles: z
      .object({
        evaluationAccount: z
          .array(Role)
          .min(1)
          .default([...ROLES])
          .meta({ description: 'Evaluation only: the roles the first local account receives.' }),
      })
      .strict()
      .prefault({})
      .meta({ title: 'Evaluation roles' }),
  })
  .strict()
  .superRefine((policy, ctx) => {
    const modelIds = new Set(policy.inference.models.map((m) => m.id));
    for (const [list, entries] of [
      ['models', policy.inference.models],
      ['workloads', policy.inference.workloads],
    ] as const) {
      const seen = new Set<string>();
      entries.forEach((entry, i) => {
        if (seen.has(entry.id)) ctx.addIssue({ code: 'custom', path: ['inference', list, i, 'id'], message: `"${entry.id}" is used by two ${list}` });
        seen.add(entry.id);
      });
    }
    policy.inference.workloads.forEach((w, i) => {
      if (w.model === null && !policy.inference.allowUserModels) {
        ctx.addIssue({ code: 'custom', path: ['inference', 'workloads', i, 'model'], message: 'a workload without a model needs inference.allowUserModels (evaluation only)' });
      }
      if (w.model !== null && !modelIds.has(w.model)) {
        ctx.addIssue({ code: 'custom', path: ['inference', 'workloads', i, 'model'], message: `names model "${w.model}", which is not in inference.models` });
      }
    });
    if (policy.mode === 'managed') {
      for (const key of ['allowKeyFile'] as const) {
        if (policy.storage[key]) ctx.addIssue({ code: 'custom', path: ['storage', key], message: 'is for evaluation mode only' });
      }
      if (policy.inference.allowUserModels) ctx.addIssue({ code: 'custom', path: ['inference', 'allowUserModels'], message: 'is for evaluation mode only' });
    }
    const plain = policy.directory.servers.filter((s) => s.startsWith('ldap://'));
    if (plain.length > 0 && !policy.directory.startTls && !policy.directory.allowUnencryptedLab) {
      ctx.addIssue({ code: 'custom', path: ['directory', 'startTls'], message: `must be true for ${plain[0]}: plain LDAP sends passwords in the clear (allowUnencryptedLab permits it in a lab)` });
    }
    if (Boolean(policy.directory.lookupAccount) !== Boolean(policy.directory.lookupPasswordFile)) {
      ctx.addIssue({ code: 'custom', path: ['directory', 'lookupPasswordFile'], message: 'directory.lookupAccount and directory.lookupPasswordFile go together' });
    }
    if (policy.smartCard.enabled && !policy.smartCard.pkcs11Module) {
      ctx.addIssue({ code: 'custom', path: ['smartCard', 'pkcs11Module'], message: 'is required when smartCard.enabled is true' });
    }
    if (policy.smartCard.enabled && policy.smartCard.caFiles.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['smartCard', 'caFiles'], message: 'needs at least one CA file when smartCard.enabled is true' });
    }
    if (policy.breakGlass.enabled && policy.breakGlass.groups.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['breakGlass', 'groups'], message: 'needs at least one group when breakGlass.enabled is true' });
    }
    const ids = new Set<string>();
    policy.siem.destinations.forEach((d, i) => {
      if (ids.has(d.id)) ctx.addIssue({ code: 'custom', path: ['siem', 'destinations', i, 'id'], message: `"${d.id}" is used by two destinations` });
      ids.add(d.id);
      if (d.type === 'splunk-hec' && (d.token === undefined) === (d.tokenFile === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: ['siem', 'destinations', i, d.token === undefined ? 'tokenFile' : 'token'],
          message: d.token === undefined ? 'needs the HEC token: set tokenFile (a file only Enclave can read) or token' : 'set either token or tokenFile, not both',
        });
      }
      if (Boolean(d.clientCertFile) !== Boolean(d.clientKeyFile)) {
        ctx.addIssue({ code: 'custom', path: ['siem', 'destinations', i, 'clientKeyFile'], message: 'clientCertFile and clientKeyFile go together' });
      }
    });
  });

export type Policy = z.output<typeof PolicySchema>;
export type PolicyInput = z.input<typeof PolicySchema>;
export type ModelEntry = z.output<typeof ModelEntry>;
export type WorkloadEntry = z.output<typeof WorkloadEntry>;
export type SiemDestination = z.output<typeof SiemDestination>;
