// Front door of the audit service.
export { AuditLog, type AuditContext } from './log.js';
export { verifyAuditChain, describeVerifyReport } from './verify.js';
export { AUDIT_ACTIONS, AuditRecordSchema, canonicalJson, hashRecord, sha256Hex, type AuditAction, type AuditEventInput, type AuditRecord } from './record.js';
export { consistencyProof, EMPTY_ROOT, inclusionProof, leafHash, MerkleFrontier, nodeHash, rootOf, verifyConsistency, verifyInclusion, type Hash } from './merkle.js';
export { currentEnrolmentKey, ensureEnrolmentKey, keyIdOf, rotateEnrolmentKey, signWithEnrolmentKey, verifyWithPublicKey, type EnrolmentKey } from './signing.js';
export { BatchManifestSchema, manifestHash, manifestSigningInput, MANIFEST_FORMAT, SIGNING_CONTEXT, verifyManifestSignature, type BatchManifest } from './manifest.js';
export { batchEventTexts, frontierAfter, lastBatch, pendingEvents, pruneSealedEvents, PRUNED_HASH_KEY, PRUNED_THROUGH_SEQ_KEY, quarantineUnsealedTail, readBatch, sealNextBatch, sealPending, type SealedBatch, type SealOptions } from './batches.js';
export { BatchSealer, type SealSchedule } from './sealer.js';
export { MerkleProofBuilder } from './merkle.js';
export { auditFilterDetail, batchSealing, foldUserName, matchesAuditFilter, searchAuditEvents, summarizeAuditEvent, type AuditSearch, type AuditSearchPage } from './query.js';
export { exportAuditBundle, exportAuditedBundle, removeAuditBundle, type BundleExportResult, type ExportMeta } from './bundle.js';
export { BUNDLE_FILES, BUNDLE_FORMAT, csvCell, describeBundleReport, verifyAuditBundle, type BundleFault, type BundleVerifyReport, type VerifyBundleOptions } from './bundle-verify.js';
