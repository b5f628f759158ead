//! Roles of a workspace (the built-in ADMIN and READONLY, and custom roles).

use diesel::prelude::*;

use super::DbConn;
use super::schema::roles;

type QResult<T> = Result<T, diesel::result::Error>;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = roles)]
pub struct Role {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub builtin: Option<String>,
}

pub fn list(conn: &mut DbConn, workspace_id: i64) -> QResult<Vec<Role>> {
    roles::table
        .filter(roles::workspace_id.eq(workspace_id))
        .order((roles::builtin.is_null(), roles::name.asc()))
        .select(Role::as_select())
        .load(conn)
}

pub fn find_by_name(conn: &mut DbConn, workspace_id: i64, name: &str) -> QResult<Option<Role>> {
    let wanted = name.trim().to_lowercase();
    Ok(list(conn, workspace_id)?.into_iter().find(|r| r.name.to_lowercase() == wanted))
}
