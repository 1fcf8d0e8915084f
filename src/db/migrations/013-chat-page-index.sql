-- Schema 13: chat_by_user_updated (user_id, updated_at DESC) served one listing, all of a user's
-- chats (the chat export, an admin's audited read), which now merges its live and archived chats
-- along chat_by_user_listing (src/db/chat-rows.ts). Every message appended moved the chat's entry
-- in both indexes: one WAL page of about six an append commits.
DROP INDEX chat_by_user_updated;
