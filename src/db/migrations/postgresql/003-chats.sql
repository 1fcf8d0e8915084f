-- Schema 3 on PostgreSQL (see ../003-chats.sql).
CREATE INDEX chat_by_user_listing ON chat (user_id, archived, updated_at);
