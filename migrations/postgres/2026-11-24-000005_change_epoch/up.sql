-- One row that counts committed changes of access. Every such transaction bumps it (and, on PostgreSQL,
-- sends NOTIFY keyward_changes); each instance reads it every second, so a change whose notice was lost
-- still reaches its caches (see src/db/changes.rs).
CREATE TABLE change_epoch (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO change_epoch (id, epoch) VALUES (1, 0);
