//! Key types of a workspace.

use diesel::prelude::*;

use super::DbConn;
use super::schema::key_types;

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
        .first(conn)
        .optional()
}

pub fn find_by_name(conn: &mut DbConn, workspace_id: i64, name: &str) -> QResult<Option<KeyType>> {
    let wanted = name.trim().to_lowercase();
    Ok(list(conn, workspace_id)?.into_iter().find(|t| t.name.to_lowercase() == wanted))
}
