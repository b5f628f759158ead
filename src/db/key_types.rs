//! Key types of a workspace.

use diesel::prelude::*;

use super::DbConn;
use super::changes::{Scope, touched};
use super::schema::{key_type_roles, key_types};

type QResult<T> = Result<T, diesel::result::Error>;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = key_types)]
pub struct KeyType {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub id_field_label: Option<String>,
    pub editable: bool,
    pub one_per_account: bool,
}

pub fn list(conn: &mut DbConn, workspace_id: i64) -> QResult<Vec<KeyType>> {
    key_types::table
        .filter(key_types::workspace_id.eq(workspace_id))
        .order(key_types::id.asc())
        .select(KeyType::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConn, workspace_id: i64, id: i64) -> QResult<Option<KeyType>> {
    key_types::table
        .filter(key_types::workspace_id.eq(workspace_id))
        .filter(key_types::id.eq(id))
        .select(KeyType::as_select())
        .get_result(conn)
        .optional()
}

pub fn find_by_name(conn: &mut DbConn, workspace_id: i64, name: &str) -> QResult<Option<KeyType>> {
    let wanted = name.trim().to_lowercase();
    Ok(list(conn, workspace_id)?.into_iter().find(|t| t.name.to_lowercase() == wanted))
}

#[derive(Debug)]
pub struct TypeFields<'a> {
    pub name: &'a str,
    pub prefix: &'a str,
    pub id_field_label: Option<&'a str>,
    pub editable: bool,
}

pub fn insert(conn: &mut DbConn, workspace_id: i64, f: &TypeFields<'_>, now: i64) -> QResult<i64> {
    diesel::insert_into(key_types::table)
        .values((
            key_types::workspace_id.eq(workspace_id),
            key_types::name.eq(f.name),
            key_types::prefix.eq(f.prefix),
            key_types::id_field_label.eq(f.id_field_label),
            key_types::editable.eq(f.editable),
            key_types::created_at.eq(now),
        ))
        .returning(key_types::id)
        .get_result(conn)
}

pub fn update(conn: &mut DbConn, id: i64, f: &TypeFields<'_>) -> QResult<()> {
    touched(Scope::KeyType(id));
    diesel::update(key_types::table.find(id))
        .set((
            key_types::name.eq(f.name),
            key_types::prefix.eq(f.prefix),
            key_types::id_field_label.eq(f.id_field_label),
            key_types::editable.eq(f.editable),
        ))
        .execute(conn)
        .map(drop)
}

pub fn delete(conn: &mut DbConn, id: i64) -> QResult<()> {
    touched(Scope::KeyType(id));
    diesel::delete(key_types::table.find(id)).execute(conn).map(drop)
}

/// How many keys each type of the workspace has.
pub fn key_counts(conn: &mut DbConn, workspace_id: i64) -> QResult<Vec<(i64, i64)>> {
    use super::schema::api_keys;
    api_keys::table
        .filter(api_keys::workspace_id.eq(workspace_id))
        .group_by(api_keys::key_type_id)
        .select((api_keys::key_type_id, diesel::dsl::count_star()))
        .load(conn)
}

/// (key type id, role id): the roles each restricted type's keys may hold. A type with no pairs allows any.
pub fn allowed_roles(conn: &mut DbConn, workspace_id: i64) -> QResult<Vec<(i64, i64)>> {
    key_type_roles::table
        .inner_join(key_types::table)
        .filter(key_types::workspace_id.eq(workspace_id))
        .select((key_type_roles::key_type_id, key_type_roles::role_id))
        .load(conn)
}

/// Replaces the roles a type's keys may hold (empty: any role).
pub fn set_allowed_roles(conn: &mut DbConn, key_type_id: i64, role_ids: &[i64]) -> QResult<()> {
    diesel::delete(key_type_roles::table.filter(key_type_roles::key_type_id.eq(key_type_id))).execute(conn)?;
    for role_id in role_ids {
        diesel::insert_into(key_type_roles::table)
            .values((key_type_roles::key_type_id.eq(key_type_id), key_type_roles::role_id.eq(role_id)))
            .execute(conn)?;
    }
    Ok(())
}
