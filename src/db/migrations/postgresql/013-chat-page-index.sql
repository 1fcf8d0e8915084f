-- Schema 13 on PostgreSQL (see ../013-chat-page-index.sql).
DROP INDEX chat_by_user_updated;
