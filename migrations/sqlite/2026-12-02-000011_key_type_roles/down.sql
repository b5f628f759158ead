DROP TABLE key_type_roles;
