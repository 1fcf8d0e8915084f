-- Schema 3: chat listings. Live, archived and pinned pages are read newest first with the chat's
-- seq as the tie-break; scanned backwards, this index serves them without a sort, offset included.
CREATE INDEX chat_by_user_listing ON chat (user_id, archived, updated_at);
