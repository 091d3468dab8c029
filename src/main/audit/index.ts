// Front door of the audit service: AuditService owns the use cases (verify,
// search, check a text, export, seal, enrol and rotate the signing key); other
// services write events through its AuditLog. The record and manifest types
// are what the SIEM renders; canonicalJson is the one JSON the records are
// hashed in, which the SIEM's JSON renderings reuse.
export { AuditService, SealBeforeExportError, type AuditActor, type AuditExport, type AuditExportRequest, type AuditServiceOptions } from './service.js';
export type { AuditLog } from './log.js';
export { auditUser } from './user.js';
export type { SealedBatchContents, SealedBatches, SealingState } from './sealed-batches.js';
export type { SealSchedule } from './sealer.js';
export type { EnrolmentKey } from './signing.js';
export type { BundleVerifyReport } from './bundle/verify/index.js';
export type { BundleExportResult } from './bundle/write.js';
export type { AuditSearch, AuditSearchPage } from './query.js';
export type { TextCheck } from './private-text.js';
export { canonicalJson, type AuditAction, type AuditEventInput, type AuditRecord } from './record.js';
export type { BatchManifest } from './manifest.js';
// The chain check alone, for the doctor (cli/doctor/database.ts), which opens the store read-only; AuditService.checkChain is the same.
export { verifyAuditChain } from './verify.js';
