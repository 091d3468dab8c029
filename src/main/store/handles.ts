// Read and write handles on the one database connection (after Signal
// Desktop's ReadableDB/WritableDB). They are the same better-sqlite3
// connection underneath; the brands exist for the compiler: a query module's
// function that writes takes a WritableDb, so a caller holding only the read
// handle cannot call it. The write handle is handed out by Store.transaction
// (and Store.writer for single autocommit statements).
import type Database from 'better-sqlite3-multiple-ciphers';

declare const readableBrand: unique symbol;
declare const writableBrand: unique symbol;

/** A connection that may only be read through (SELECT, PRAGMA reads). */
export type ReadableDb = Database.Database & { readonly [readableBrand]: true };

/** A connection that may be written through; a WritableDb can also read. */
export type WritableDb = ReadableDb & { readonly [writableBrand]: true };

/** Brands a raw connection: only the store (and tests building fixtures) call these. */
export const asReadable = (db: Database.Database): ReadableDb => db as ReadableDb;
export const asWritable = (db: Database.Database): WritableDb => db as WritableDb;
