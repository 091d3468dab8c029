// The audit service's internals, for tests that build fixtures and check
// single steps (sealing, pruning, Merkle proofs, the bundle). Code under src/
// reaches the audit service only through src/main/audit/index.ts.
export { AuditLog, HEAD_HASH_KEY, HEAD_SEQ_KEY } from '../../src/main/audit/log.js';
export { verifyAuditChain, describeVerifyReport } from '../../src/main/audit/verify.js';
export { AUDIT_ACTIONS, AuditRecordSchema, canonicalJson, hashRecord, sha256Hex, type AuditAction, type AuditEventInput, type AuditRecord } from '../../src/main/audit/record.js';
export {
  checkConsistency,
  checkInclusion,
  consistencyProof,
  EMPTY_ROOT,
  inclusionProof,
  leafHash,
  MerkleFrontier,
  MerkleProofBuilder,
  MerkleProofError,
  rootOf,
  verifyConsistency,
  verifyInclusion,
  type Hash,
  type MerkleProofFailure,
} from '../../src/main/audit/merkle.js';
export { currentEnrolmentKey, ensureEnrolmentKey, rotateEnrolmentKey, wipeRetiredSigningKeys } from '../../src/main/audit/signing.js';
export { BatchManifestSchema, manifestHash, verifyManifestSignature, type BatchManifest } from '../../src/main/audit/manifest.js';
export { batchEventTexts, lastBatch, pendingEvents, pruneSealedEvents, quarantineUnsealedTail, readBatch, sealNextBatch, sealPending, type SealOptions } from '../../src/main/audit/batches.js';
export { BatchSealer, type SealSchedule } from '../../src/main/audit/sealer.js';
export { auditFilterDetail, matchesAuditFilter, searchAuditEvents, statedAuditFilter, type AuditSearch } from '../../src/main/audit/query.js';
export { checkEventText, privateTextOf, TYPED_NAME_PREFIX, type TextCheck } from '../../src/main/audit/private-text.js';
export { checkTextAudited } from '../../src/main/audit/text-check.js';
export { sealedBatches as sealedBatchSource } from '../../src/main/audit/sealed-batches.js';
export { exportAuditBundle, exportAuditedBundle } from '../../src/main/audit/bundle/write.js';
export { describeBundleReport, verifyAuditBundle, type BundleVerifyReport } from '../../src/main/audit/bundle/verify/index.js';
export { publicKeyId as keyIdOf } from '../../src/main/tls/index.js';
