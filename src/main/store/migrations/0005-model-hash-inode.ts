// The model hash cache also keys on the file's identity (inode on Unix, file
// id on Windows): a model swapped by rename gets a new one even where size and
// times were made to match. Kept as text, since a 64-bit file id does not fit a
// JavaScript number exactly. Rows from before have '' and are hashed once more.
export const sql = `
ALTER TABLE model_hash_cache ADD COLUMN inode TEXT NOT NULL DEFAULT '';
`;
