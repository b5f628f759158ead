//! The one statement behind an uncached verification: the key of a secret digest with its owner, type,
//! roles and permissions, in one round trip (the catalogue and the owner's grants come from caches of
//! their own). The roles and permissions come back as JSON arrays, which both backends build.
//!
//! The statement is a type of its own with a static query id, so each connection prepares it once and
//! finds it again by type, without writing the SQL out per call (`sql_query` statements are never kept).
//! On PostgreSQL it also comes for many digests at once (`by_digests`): under load, the lookups waiting at
//! the same moment share one round trip and one execution.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Binary, Bool, Nullable, Text};
use diesel::sqlite::Sqlite;

use super::DbConn;
use super::permissions::{HeldRole, held_grants};
use crate::domain::access::Grants;
use crate::domain::key::KeyStatus;

/// What verification needs to know about the key behind a secret digest.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// The digest it was found by.
    pub digest: Vec<u8>,
    pub secret_id: i64,
    pub secret_retires_at: Option<i64>,
    pub key_id: i64,
    pub workspace_id: i64,
    pub name: String,
    pub status: KeyStatus,
    pub expires_at: Option<i64>,
    pub act_as_owner: bool,
    pub type_id: i64,
    pub type_name: String,
    pub owner_id: i64,
    pub owner_email: String,
    pub owner_disabled_at: Option<i64>,
    pub ip_allow: Option<String>,
    pub rate_limit: Option<i64>,
    pub rate_window_secs: Option<i64>,
    /// What the key holds itself, through its roles and directly.
    pub grants: Grants,
    /// Its roles' names, by name.
    pub roles: Vec<String>,
}

/// The columns, the same on both backends but for how a list becomes JSON text.
macro_rules! lookup_sql {
    ($agg:literal, $array:literal, $text:literal) => {
        concat!(
            "SELECT s.id, s.retires_at, k.id, k.workspace_id, k.name, k.status, k.expires_at, k.act_as_owner, ",
            "t.id, t.name, a.id, a.email, a.disabled_at, k.ip_allow, k.rate_limit, k.rate_window_secs, ",
            "(SELECT ",
            $agg,
            "(",
            $array,
            "(r.id, r.name, r.builtin))",
            $text,
            " FROM api_key_roles kr JOIN roles r ON r.id = kr.role_id WHERE kr.key_id = k.id), ",
            "(SELECT ",
            $agg,
            "(kp.permission_id)",
            $text,
            " FROM api_key_permissions kp WHERE kp.key_id = k.id), ",
            "(SELECT ",
            $agg,
            "(rp.permission_id)",
            $text,
            " FROM api_key_roles kr JOIN role_permissions rp ON rp.role_id = kr.role_id WHERE kr.key_id = k.id), ",
            "s.digest ",
            "FROM key_secrets s JOIN api_keys k ON k.id = s.key_id JOIN key_types t ON t.id = k.key_type_id ",
            "JOIN accounts a ON a.id = k.owner_id JOIN workspaces w ON w.id = k.workspace_id ",
            "WHERE w.archived_at IS NULL AND s.digest = "
        )
    };
}

const SQLITE: &str = lookup_sql!("json_group_array", "json_array", "");
const POSTGRES: &str = lookup_sql!("json_agg", "json_build_array", "::text");

/// The statement for one digest.
#[derive(Debug, Clone, Copy)]
struct ByDigest<'a>(&'a [u8]);

/// The statement for several digests (PostgreSQL).
#[derive(Debug, Clone, Copy)]
struct ByDigests<'a>(&'a Vec<Vec<u8>>);

type Row = (
    (i64, Option<i64>, i64, i64, String, String, Option<i64>, bool),
    (i64, String, i64, String, Option<i64>, Option<String>, Option<i64>, Option<i64>),
    (Option<String>, Option<String>, Option<String>, Vec<u8>),
);

type RowType = (
    (BigInt, Nullable<BigInt>, BigInt, BigInt, Text, Text, Nullable<BigInt>, Bool),
    (BigInt, Text, BigInt, Text, Nullable<BigInt>, Nullable<Text>, Nullable<BigInt>, Nullable<BigInt>),
    (Nullable<Text>, Nullable<Text>, Nullable<Text>, Binary),
);

/// A statement of its own: its query id is its type, so a connection prepares it once.
macro_rules! statement {
    ($($name:ident),*) => {$(
        impl QueryId for $name<'_> {
            type QueryId = $name<'static>;
            const HAS_STATIC_QUERY_ID: bool = true;
        }

        impl Query for $name<'_> {
            type SqlType = RowType;
        }

        impl<C> RunQueryDsl<C> for $name<'_> {}
    )*};
}

statement!(ByDigest, ByDigests);

impl QueryFragment<Pg> for ByDigests<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(POSTGRES);
        out.push_sql("ANY(");
        out.push_bind_param::<Array<Binary>, Vec<Vec<u8>>>(self.0)?;
        out.push_sql(")");
        Ok(())
    }
}

impl QueryFragment<Sqlite> for ByDigest<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(SQLITE);
        out.push_bind_param::<Binary, [u8]>(self.0)
    }
}

impl QueryFragment<Pg> for ByDigest<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(POSTGRES);
        out.push_bind_param::<Binary, [u8]>(self.0)
    }
}

/// A JSON array as the statement returns it (PostgreSQL gives NULL for none, SQLite `[]`).
fn list<T: serde::de::DeserializeOwned>(json: Option<String>) -> QueryResult<Vec<T>> {
    json.map_or(Ok(Vec::new()), |text| {
        serde_json::from_str(&text).map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
    })
}

/// The key behind a digest, in one statement; `None` when no key of a live workspace has it.
pub fn by_digest(conn: &mut DbConn, digest: &[u8]) -> QueryResult<Option<Lookup>> {
    let row: Option<Row> = on_backend!(conn, |c| ByDigest(digest).get_result(c).optional())?;
    row.map(read).transpose()
}

/// The keys behind these digests, in one statement on PostgreSQL (one per digest on SQLite, where each is
/// a read of a local file); digests no key of a live workspace has are left out.
pub fn by_digests(conn: &mut DbConn, digests: &[[u8; 32]]) -> QueryResult<Vec<Lookup>> {
    // One digest — every lookup when there is little traffic — takes the equality's plan, which is the
    // unique index whatever the statistics say.
    if digests.len() > 1
        && let DbConn::Postgres(c) = conn
    {
        let digests: Vec<Vec<u8>> = digests.iter().map(|d| d.to_vec()).collect();
        let rows: Vec<Row> = ByDigests(&digests).load(c)?;
        return rows.into_iter().map(read).collect();
    }
    digests.iter().filter_map(|d| by_digest(conn, d).transpose()).collect()
}

fn read(row: Row) -> QueryResult<Lookup> {
    let (
        key,
        (type_id, type_name, owner_id, owner_email, owner_disabled_at, ip_allow, rate_limit, rate_window_secs),
        lists,
    ) = row;
    let (secret_id, secret_retires_at, key_id, workspace_id, name, status, expires_at, act_as_owner) = key;
    let (held, direct, via_roles, digest) = lists;
    let held: Vec<HeldRole> = list(held)?;
    let (grants, roles) = held_grants(held, list(direct)?, list(via_roles)?);
    Ok(Lookup {
        digest,
        secret_id,
        secret_retires_at,
        key_id,
        workspace_id,
        name,
        status: KeyStatus::from(status),
        expires_at,
        act_as_owner,
        type_id,
        type_name,
        owner_id,
        owner_email,
        owner_disabled_at,
        ip_allow,
        rate_limit,
        rate_window_secs,
        grants,
        roles,
    })
}
