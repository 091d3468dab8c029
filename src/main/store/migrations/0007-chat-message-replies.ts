// Released migrations are never edited: add a new numbered file instead.
// chat_messages.reply_to refers to chat_messages(id): with foreign keys on,
// deleting a message makes SQLite look for messages that reply to it. Without
// an index that is a scan of the whole table per deleted message, and deleting
// chats (retention, a user's own deletion) grows with the square of their size.
export const sql = `
CREATE INDEX chat_messages_by_reply_to ON chat_messages (reply_to);
`;
