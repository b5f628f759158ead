-- A key type may restrict which roles its keys hold (Customer keys: Billing Access only). No rows: any role.
CREATE TABLE key_type_roles (
    key_type_id BIGINT NOT NULL REFERENCES key_types (id) ON DELETE CASCADE,
    role_id     BIGINT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (key_type_id, role_id)
);
CREATE INDEX key_type_roles_role ON key_type_roles (role_id);
