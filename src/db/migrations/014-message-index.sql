-- Schema 14: message_by_chat (chat_seq, id) goes. message_uid_in_chat (chat_seq, uid) finds a chat's
-- rows as well (every read by chat, the deletes a chat's removal cascades to); reads in id order
-- take the ids from it and the rows by id (src/db/message-rows.ts). Every append wrote a leaf of
-- both indexes: one WAL page of about five an append commits, and 1.2% of a store of 1 KB messages.
DROP INDEX message_by_chat;
