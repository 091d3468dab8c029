// Front door of the audit service.
export { AuditLog, type AuditContext } from './log.js';
export { verifyAuditChain, describeVerifyReport } from './verify.js';
export { AUDIT_ACTIONS, AuditRecordSchema, canonicalJson, hashRecord, sha256Hex, type AuditAction, type AuditEventInput, type AuditRecord } from './record.js';
export { consistencyProof, EMPTY_ROOT, inclusionProof, leafHash, MerkleFrontier, nodeHash, rootOf, verifyConsistency, verifyInclusion, type Hash } from './merkle.js';
export { currentEnrolmentKey, ensureEnrolmentKey, keyIdOf, signWithEnrolmentKey, verifyWithPublicKey, type EnrolmentKey } from './signing.js';
