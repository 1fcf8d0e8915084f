-- Schema 14 on PostgreSQL (see ../014-message-index.sql).
DROP INDEX message_by_chat;
