// Front door of the audit service.
export { AuditLog } from './log.js';
export { auditUser } from './user.js';
export { verifyAuditChain, describeVerifyReport } from './verify.js';
export { AUDIT_ACTIONS, AuditRecordSchema, canonicalJson, hashRecord, sha256Hex, type AuditAction, type AuditEventInput, type AuditRecord } from './record.js';
export { checkConsistency, checkInclusion, consistencyProof, EMPTY_ROOT, inclusionProof, leafHash, MerkleFrontier, MerkleProofBuilder, MerkleProofError, rootOf, verifyConsistency, verifyInclusion, type Hash, type MerkleProofFailure } from './merkle.js';
export { currentEnrolmentKey, ensureEnrolmentKey, keyIdOf, rotateEnrolmentKey, wipeRetiredSigningKeys } from './signing.js';
export { BatchManifestSchema, manifestHash, verifyManifestSignature, type BatchManifest } from './manifest.js';
export { batchEventTexts, lastBatch, pendingEvents, pruneSealedEvents, quarantineUnsealedTail, readBatch, sealNextBatch, sealPending, type SealOptions } from './batches.js';
export { BatchSealer, type SealSchedule } from './sealer.js';
export { auditFilterDetail, matchesAuditFilter, searchAuditEvents, statedAuditFilter, type AuditSearch } from './query.js';
export { checkEventText, privateTextOf, TYPED_NAME_PREFIX, type TextCheck } from './private-text.js';
export { checkTextAudited } from './text-check.js';
export { exportAuditBundle, exportAuditedBundle } from './bundle/write.js';
export { describeBundleReport, verifyAuditBundle, type BundleVerifyReport } from './bundle/verify/index.js';
