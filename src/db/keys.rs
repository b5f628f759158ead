//! API keys: records, secrets, grants, and the paginated listing of the API Keys page.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};

use super::DbConn;
use super::changes::{Scope, touched};
use super::schema::{accounts, api_key_permissions, api_key_roles, api_keys, key_secrets, key_types, key_usage, roles};
use crate::domain::key::KeyStatus;

type QResult<T> = Result<T, diesel::result::Error>;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct KeyRecord {
    pub id: i64,
    pub workspace_id: i64,
    pub key_type_id: i64,
    pub name: String,
    pub description: String,
    pub identifier: Option<String>,
    pub owner_id: i64,
    pub act_as_owner: bool,
    #[diesel(deserialize_as = String)]
    pub status: KeyStatus,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub created_by: Option<i64>,
    pub updated_at: i64,
    pub ip_allow: Option<String>,
    pub rate_limit: Option<i64>,
    pub rate_window_secs: Option<i64>,
}

impl KeyRecord {
    pub fn is_active(&self) -> bool {
        self.status.is_active()
    }
}

#[derive(Debug)]
pub struct NewKey<'a> {
    pub workspace_id: i64,
    pub key_type_id: i64,
    pub name: &'a str,
    pub description: &'a str,
    pub identifier: Option<&'a str>,
    pub owner_id: i64,
    pub act_as_owner: bool,
    pub expires_at: Option<i64>,
    pub created_by: Option<i64>,
    pub now: i64,
}

pub fn insert(conn: &mut DbConn, new: &NewKey<'_>) -> QResult<i64> {
    // Nothing cached can depend on a key that did not exist; its secret names `Secrets`.
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::workspace_id.eq(new.workspace_id),
            api_keys::key_type_id.eq(new.key_type_id),
            api_keys::name.eq(new.name),
            api_keys::name_key.eq(crate::domain::name::comparable(new.name)),
            api_keys::description.eq(new.description),
            api_keys::identifier.eq(new.identifier),
            api_keys::owner_id.eq(new.owner_id),
            api_keys::act_as_owner.eq(new.act_as_owner),
            api_keys::expires_at.eq(new.expires_at),
            api_keys::created_at.eq(new.now),
            api_keys::created_by.eq(new.created_by),
            api_keys::updated_at.eq(new.now),
        ))
        .returning(api_keys::id)
        .get_result(conn)
}

#[derive(Debug)]
pub struct Changes<'a> {
    pub description: &'a str,
    pub active: bool,
    pub expires_at: Option<i64>,
    pub act_as_owner: bool,
    pub now: i64,
}

fn status_text(active: bool) -> &'static str {
    KeyStatus::of(active).as_str()
}

pub fn update(conn: &mut DbConn, id: i64, changes: &Changes<'_>) -> QResult<()> {
    touched(Scope::Key(id));
    diesel::update(api_keys::table.find(id))
        .set((
            api_keys::description.eq(changes.description),
            api_keys::status.eq(status_text(changes.active)),
            api_keys::expires_at.eq(changes.expires_at),
            api_keys::act_as_owner.eq(changes.act_as_owner),
            api_keys::updated_at.eq(changes.now),
        ))
        .execute(conn)
        .map(drop)
}

pub fn set_status(conn: &mut DbConn, id: i64, active: bool, now: i64) -> QResult<()> {
    touched(Scope::Key(id));
    diesel::update(api_keys::table.find(id))
        .set((api_keys::status.eq(status_text(active)), api_keys::updated_at.eq(now)))
        .execute(conn)
        .map(drop)
}

pub fn set_owner(conn: &mut DbConn, id: i64, owner_id: i64, now: i64) -> QResult<()> {
    touched(Scope::Key(id));
    diesel::update(api_keys::table.find(id))
        .set((api_keys::owner_id.eq(owner_id), api_keys::updated_at.eq(now)))
        .execute(conn)
        .map(drop)
}

/// Deletes a key; its secrets, grants and usage go with it (foreign keys cascade).
pub fn delete(conn: &mut DbConn, id: i64) -> QResult<()> {
    touched(Scope::Key(id));
    diesel::delete(api_keys::table.find(id)).execute(conn).map(drop)
}

/// Removes any previous secret still in its overlap; returns how many.
pub fn drop_retiring_secrets(conn: &mut DbConn, key_id: i64) -> QResult<usize> {
    touched(Scope::Key(key_id));
    diesel::delete(
        key_secrets::table.filter(key_secrets::key_id.eq(key_id)).filter(key_secrets::retires_at.is_not_null()),
    )
    .execute(conn)
}

pub fn drop_current_secret(conn: &mut DbConn, key_id: i64) -> QResult<usize> {
    touched(Scope::Key(key_id));
    diesel::delete(key_secrets::table.filter(key_secrets::key_id.eq(key_id)).filter(key_secrets::retires_at.is_null()))
        .execute(conn)
}

/// Starts the current secret's overlap: it keeps working until `until`.
pub fn retire_current_secret(conn: &mut DbConn, key_id: i64, until: i64) -> QResult<usize> {
    touched(Scope::Key(key_id));
    diesel::update(key_secrets::table.filter(key_secrets::key_id.eq(key_id)).filter(key_secrets::retires_at.is_null()))
        .set(key_secrets::retires_at.eq(until))
        .execute(conn)
}

/// Recomputes what the key search looks at, after the key or its owner changed.
pub fn refresh_search_text(conn: &mut DbConn, key_id: i64) -> QResult<()> {
    let (name, description, identifier, email, owner_name): (String, String, Option<String>, String, String) =
        api_keys::table
            .inner_join(accounts::table.on(accounts::id.eq(api_keys::owner_id)))
            .filter(api_keys::id.eq(key_id))
            .select((
                api_keys::name,
                api_keys::description,
                api_keys::identifier,
                accounts::email,
                accounts::display_name,
            ))
            .get_result(conn)?;
    let text = format!("{name} {description} {} {email} {owner_name}", identifier.unwrap_or_default()).to_lowercase();
    diesel::update(api_keys::table.find(key_id)).set(api_keys::search_text.eq(text)).execute(conn).map(drop)
}

pub fn count(conn: &mut DbConn, workspace_id: i64) -> QResult<i64> {
    api_keys::table.filter(api_keys::workspace_id.eq(workspace_id)).count().get_result(conn)
}

pub fn owner_has_type(conn: &mut DbConn, owner_id: i64, key_type_id: i64) -> QResult<bool> {
    diesel::select(diesel::dsl::exists(
        api_keys::table.filter(api_keys::owner_id.eq(owner_id)).filter(api_keys::key_type_id.eq(key_type_id)),
    ))
    .get_result(conn)
}

/// The account's key of a one-per-account type (the personal key), if any.
pub fn personal_key(conn: &mut DbConn, workspace_id: i64, owner_id: i64) -> QResult<Option<KeyRecord>> {
    api_keys::table
        .inner_join(key_types::table)
        .filter(api_keys::workspace_id.eq(workspace_id))
        .filter(api_keys::owner_id.eq(owner_id))
        .filter(key_types::one_per_account.eq(true))
        .select(KeyRecord::as_select())
        .first(conn)
        .optional()
}

pub fn name_taken(conn: &mut DbConn, workspace_id: i64, name: &str, except: Option<i64>) -> QResult<bool> {
    let query = api_keys::table
        .filter(api_keys::workspace_id.eq(workspace_id))
        .filter(api_keys::name_key.eq(crate::domain::name::comparable(name)))
        // Ids start at 1, so 0 excludes nothing.
        .filter(api_keys::id.ne(except.unwrap_or(0)));
    diesel::select(diesel::dsl::exists(query)).get_result(conn)
}

pub fn find(conn: &mut DbConn, workspace_id: i64, id: i64) -> QResult<Option<KeyRecord>> {
    api_keys::table
        .filter(api_keys::workspace_id.eq(workspace_id))
        .filter(api_keys::id.eq(id))
        .select(KeyRecord::as_select())
        .get_result(conn)
        .optional()
}

/// A stored secret, sealed: what reveal opens and what rotation adds.
#[derive(Debug)]
pub struct NewSecret<'a> {
    pub key_id: i64,
    pub digest: &'a [u8],
    pub sealed: &'a [u8],
    pub master_key_version: i64,
    pub hint: &'a str,
    pub now: i64,
}

pub fn insert_secret(conn: &mut DbConn, new: &NewSecret<'_>) -> QResult<i64> {
    touched(Scope::Key(new.key_id));
    touched(Scope::Secrets);
    diesel::insert_into(key_secrets::table)
        .values((
            key_secrets::key_id.eq(new.key_id),
            key_secrets::digest.eq(new.digest),
            key_secrets::sealed.eq(new.sealed),
            key_secrets::master_key_version.eq(new.master_key_version),
            key_secrets::hint.eq(new.hint),
            key_secrets::created_at.eq(new.now),
        ))
        .returning(key_secrets::id)
        .get_result(conn)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = key_secrets)]
pub struct SecretInfo {
    pub id: i64,
    pub hint: String,
    pub created_at: i64,
    pub retires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

/// The key's secrets, current first.
pub fn secrets(conn: &mut DbConn, key_id: i64) -> QResult<Vec<SecretInfo>> {
    key_secrets::table
        .filter(key_secrets::key_id.eq(key_id))
        .order((key_secrets::retires_at.is_not_null(), key_secrets::id.desc()))
        .select(SecretInfo::as_select())
        .load(conn)
}

/// The current secret's sealed bytes, master-key version and row id (the AEAD context).
pub fn current_sealed(conn: &mut DbConn, key_id: i64) -> QResult<Option<(i64, Vec<u8>, i64)>> {
    key_secrets::table
        .filter(key_secrets::key_id.eq(key_id))
        .filter(key_secrets::retires_at.is_null())
        .order(key_secrets::id.desc())
        .select((key_secrets::id, key_secrets::sealed, key_secrets::master_key_version))
        .first(conn)
        .optional()
}

pub fn set_grants(conn: &mut DbConn, key_id: i64, role_ids: &[i64], permission_ids: &[i64]) -> QResult<()> {
    touched(Scope::Key(key_id));
    diesel::delete(api_key_roles::table.filter(api_key_roles::key_id.eq(key_id))).execute(conn)?;
    diesel::delete(api_key_permissions::table.filter(api_key_permissions::key_id.eq(key_id))).execute(conn)?;
    for role_id in role_ids {
        diesel::insert_into(api_key_roles::table)
            .values((api_key_roles::key_id.eq(key_id), api_key_roles::role_id.eq(role_id)))
            .execute(conn)?;
    }
    for permission_id in permission_ids {
        diesel::insert_into(api_key_permissions::table)
            .values((api_key_permissions::key_id.eq(key_id), api_key_permissions::permission_id.eq(permission_id)))
            .execute(conn)?;
    }
    Ok(())
}

/// Role names of each of these keys.
pub fn role_names(conn: &mut DbConn, key_ids: &[i64]) -> QResult<Vec<(i64, String)>> {
    api_key_roles::table
        .inner_join(roles::table)
        .filter(api_key_roles::key_id.eq_any(key_ids))
        .order(roles::name.asc())
        .select((api_key_roles::key_id, roles::name))
        .load(conn)
}

/// The masked hint of each key's current secret.
pub fn current_hints(conn: &mut DbConn, key_ids: &[i64]) -> QResult<Vec<(i64, String)>> {
    key_secrets::table
        .filter(key_secrets::key_id.eq_any(key_ids))
        .filter(key_secrets::retires_at.is_null())
        .select((key_secrets::key_id, key_secrets::hint))
        .load(conn)
}

pub fn role_ids(conn: &mut DbConn, key_id: i64) -> QResult<Vec<i64>> {
    api_key_roles::table.filter(api_key_roles::key_id.eq(key_id)).select(api_key_roles::role_id).load(conn)
}

pub fn permission_ids(conn: &mut DbConn, key_id: i64) -> QResult<Vec<i64>> {
    api_key_permissions::table
        .filter(api_key_permissions::key_id.eq(key_id))
        .select(api_key_permissions::permission_id)
        .load(conn)
}

// ---- the API Keys page ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    #[default]
    All,
    Active,
    Inactive,
    Expired,
    /// Active keys that expire within this many seconds.
    ExpiringWithin(i64),
    /// Keys not used (or never used) for this many seconds.
    UnusedFor(i64),
    /// Active, unexpired keys whose current secret is at least this many seconds old.
    RotationDue(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    Name,
    Type,
    Owner,
    Status,
    Expires,
    LastUsed,
    #[default]
    Created,
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub workspace_id: i64,
    /// Members see only their own keys.
    pub owner_id: Option<i64>,
    pub filter: Filter,
    pub search: Option<String>,
    pub sort: Sort,
    pub descending: bool,
    /// Keyset cursor: the sort value and id of the last row of the previous page.
    pub after: Option<(String, i64)>,
    pub limit: i64,
    pub now: i64,
}

#[derive(Debug, Clone, Queryable)]
pub struct KeyRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub identifier: Option<String>,
    #[diesel(deserialize_as = String)]
    pub status: KeyStatus,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub type_name: String,
    pub id_field_label: Option<String>,
    pub editable: bool,
    pub owner_id: i64,
    pub owner_email: String,
    pub owner_name: String,
    pub last_used_at: Option<i64>,
}

/// "Never expires" sorts after every date; "never used" before every use.
const NEVER_EXPIRES: i64 = i64::MAX;

impl KeyRow {
    /// The value of the sort column, as the cursor stores it.
    pub fn sort_value(&self, sort: Sort) -> String {
        match sort {
            Sort::Name => self.name.to_lowercase(),
            Sort::Type => self.type_name.clone(),
            Sort::Owner => self.owner_email.clone(),
            Sort::Status => self.status.as_str().to_owned(),
            Sort::Expires => self.expires_at.unwrap_or(NEVER_EXPIRES).to_string(),
            Sort::LastUsed => self.last_used_at.unwrap_or(0).to_string(),
            Sort::Created => self.created_at.to_string(),
        }
    }
}

/// One page of keys, whether another page follows, and how many keys match in all.
pub fn list(conn: &mut DbConn, q: &ListQuery) -> QResult<(Vec<KeyRow>, bool, i64)> {
    let mut query = api_keys::table
        .inner_join(key_types::table)
        .inner_join(accounts::table.on(accounts::id.eq(api_keys::owner_id)))
        .left_join(key_usage::table)
        .filter(api_keys::workspace_id.eq(q.workspace_id))
        .select((
            api_keys::id,
            api_keys::name,
            api_keys::description,
            api_keys::identifier,
            api_keys::status,
            api_keys::expires_at,
            api_keys::created_at,
            key_types::name,
            key_types::id_field_label,
            key_types::editable,
            api_keys::owner_id,
            accounts::email,
            accounts::display_name,
            key_usage::last_used_at.nullable(),
        ))
        .into_boxed();
    // The same filters narrow the page and the count.
    macro_rules! narrowed {
        ($query:ident) => {{
            if let Some(owner) = q.owner_id {
                $query = $query.filter(api_keys::owner_id.eq(owner));
            }
            let now = q.now;
            $query = match q.filter {
                Filter::All => $query,
                Filter::Active => $query
                    .filter(api_keys::status.eq(KeyStatus::Active.as_str()))
                    .filter(api_keys::expires_at.is_null().or(api_keys::expires_at.gt(now))),
                Filter::Inactive => $query.filter(api_keys::status.eq(KeyStatus::Inactive.as_str())),
                Filter::Expired => $query.filter(api_keys::expires_at.le(now)),
                Filter::ExpiringWithin(secs) => $query
                    .filter(api_keys::status.eq(KeyStatus::Active.as_str()))
                    .filter(api_keys::expires_at.gt(now))
                    .filter(api_keys::expires_at.le(now.saturating_add(secs))),
                Filter::UnusedFor(secs) => {
                    let cutoff = now.saturating_sub(secs);
                    $query
                        .filter(api_keys::created_at.le(cutoff))
                        .filter(key_usage::last_used_at.is_null().or(key_usage::last_used_at.le(cutoff)))
                }
                Filter::RotationDue(age) => {
                    let old_secrets = key_secrets::table
                        .filter(key_secrets::retires_at.is_null())
                        .filter(key_secrets::created_at.le(now.saturating_sub(age)))
                        .select(key_secrets::key_id);
                    $query
                        .filter(api_keys::status.eq(KeyStatus::Active.as_str()))
                        .filter(api_keys::expires_at.is_null().or(api_keys::expires_at.gt(now)))
                        .filter(api_keys::id.eq_any(old_secrets))
                }
            };
            if let Some(term) = q.search.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                // search_text is lower-cased when written, so a plain substring test is exact, needs no
                // escaping of LIKE wildcards, and is several times cheaper per row than LIKE.
                let position = match conn {
                    DbConn::Sqlite(_) => "instr(api_keys.search_text, ",
                    DbConn::Postgres(_) => "strpos(api_keys.search_text, ",
                };
                $query = $query.filter(sql::<Bool>(position).bind::<Text, _>(term.to_lowercase()).sql(") > 0"));
            }
        }};
    }
    let mut counted = api_keys::table
        .inner_join(key_types::table)
        .inner_join(accounts::table.on(accounts::id.eq(api_keys::owner_id)))
        .left_join(key_usage::table)
        .filter(api_keys::workspace_id.eq(q.workspace_id))
        .select(diesel::dsl::count_star())
        .into_boxed();
    narrowed!(counted);
    let total: i64 = counted.get_result(conn)?;
    narrowed!(query);
    macro_rules! order_by {
        ($col:expr, $parse:expr) => {{
            if let Some((value, id)) = &q.after {
                let value = $parse(value);
                query = if q.descending {
                    query.filter($col.lt(value.clone()).or($col.eq(value).and(api_keys::id.lt(*id))))
                } else {
                    query.filter($col.gt(value.clone()).or($col.eq(value).and(api_keys::id.gt(*id))))
                };
            }
            query = if q.descending {
                query.order(($col.desc(), api_keys::id.desc()))
            } else {
                query.order(($col.asc(), api_keys::id.asc()))
            };
        }};
    }
    let text = |v: &String| v.clone();
    let number = |v: &String| v.parse::<i64>().unwrap_or(0);
    match q.sort {
        Sort::Name => order_by!(api_keys::name_key, text),
        Sort::Type => order_by!(key_types::name, text),
        Sort::Owner => order_by!(accounts::email, text),
        Sort::Status => order_by!(api_keys::status, text),
        Sort::Created => order_by!(api_keys::created_at, number),
        // These filters leave no key without an expiry, so the (workspace, expires_at) index serves the order.
        Sort::Expires if matches!(q.filter, Filter::Expired | Filter::ExpiringWithin(_)) => {
            order_by!(api_keys::expires_at, number)
        }
        Sort::Expires => order_by!(sql::<BigInt>("COALESCE(api_keys.expires_at, 9223372036854775807)"), number),
        Sort::LastUsed => order_by!(sql::<BigInt>("COALESCE(key_usage.last_used_at, 0)"), number),
    }
    let limit = q.limit.clamp(1, 500);
    let mut rows: Vec<KeyRow> = query.limit(limit + 1).load(conn)?;
    let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok((rows, more, total))
}

/// A key an account owns, as a departure hands it over and its confirmation summarises it.
#[derive(Debug, Clone, Queryable)]
pub struct Owned {
    pub workspace_id: i64,
    pub id: i64,
    pub name: String,
    /// Carries its owner's grants (a personal key).
    pub act_as_owner: bool,
    pub status: String,
    pub type_name: String,
    pub last_used_at: Option<i64>,
}

impl Owned {
    pub fn is_active(&self) -> bool {
        self.status == KeyStatus::Active.as_str()
    }
}

/// Every key an account owns, in any workspace, workspace by workspace.
pub fn owned_by(conn: &mut DbConn, owner_id: i64) -> QResult<Vec<Owned>> {
    api_keys::table
        .inner_join(key_types::table)
        .left_join(key_usage::table)
        .filter(api_keys::owner_id.eq(owner_id))
        .order((api_keys::workspace_id.asc(), api_keys::name_key.asc()))
        .select((
            api_keys::workspace_id,
            api_keys::id,
            api_keys::name,
            api_keys::act_as_owner,
            api_keys::status,
            key_types::name,
            key_usage::last_used_at.nullable(),
        ))
        .load(conn)
}

/// Sets a key's IP allow-list (one CIDR block per line; `None` for anywhere) and rate limit.
pub fn set_restrictions(
    conn: &mut DbConn,
    id: i64,
    ip_allow: Option<&str>,
    rate: Option<crate::domain::restrict::RateLimit>,
) -> QResult<()> {
    touched(Scope::Key(id));
    diesel::update(api_keys::table.find(id))
        .set((
            api_keys::ip_allow.eq(ip_allow),
            api_keys::rate_limit.eq(rate.map(|r| r.limit)),
            api_keys::rate_window_secs.eq(rate.map(|r| r.window_secs)),
        ))
        .execute(conn)
        .map(drop)
}

/// A key as the credential report lists it.
#[derive(Debug, Clone, Queryable)]
pub struct ReportRow {
    pub id: i64,
    pub name: String,
    pub owner_email: String,
    pub type_name: String,
    #[diesel(deserialize_as = String)]
    pub status: KeyStatus,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    /// When the current secret was made (the age rotation is measured by).
    pub secret_created_at: i64,
    pub owner_id: i64,
    pub act_as_owner: bool,
}

/// Every key of the workspace (or of one owner), by name, for the credential report.
pub fn report(conn: &mut DbConn, workspace_id: i64, owner_id: Option<i64>) -> QResult<Vec<ReportRow>> {
    let mut query = api_keys::table
        .inner_join(key_types::table)
        .inner_join(accounts::table.on(accounts::id.eq(api_keys::owner_id)))
        .inner_join(key_secrets::table)
        .left_join(key_usage::table)
        .filter(api_keys::workspace_id.eq(workspace_id))
        .filter(key_secrets::retires_at.is_null())
        .order((api_keys::name_key.asc(), api_keys::id.asc()))
        .select((
            api_keys::id,
            api_keys::name,
            accounts::email,
            key_types::name,
            api_keys::status,
            api_keys::created_at,
            api_keys::expires_at,
            key_usage::last_used_at.nullable(),
            key_secrets::created_at,
            api_keys::owner_id,
            api_keys::act_as_owner,
        ))
        .into_boxed();
    if let Some(owner) = owner_id {
        query = query.filter(api_keys::owner_id.eq(owner));
    }
    query.load(conn)
}

/// (key id, role name) for every role held by a key of the workspace.
pub fn role_names_in(conn: &mut DbConn, workspace_id: i64) -> QResult<Vec<(i64, String)>> {
    api_key_roles::table
        .inner_join(roles::table)
        .filter(roles::workspace_id.eq(workspace_id))
        .order(roles::name.asc())
        .select((api_key_roles::key_id, roles::name))
        .load(conn)
}

/// Names of the keys of a type that hold a role outside `allowed`.
pub fn holding_roles_outside(conn: &mut DbConn, key_type_id: i64, allowed: &[i64]) -> QResult<Vec<String>> {
    api_keys::table
        .inner_join(api_key_roles::table)
        .filter(api_keys::key_type_id.eq(key_type_id))
        .filter(api_key_roles::role_id.ne_all(allowed))
        .select(api_keys::name)
        .distinct()
        .order(api_keys::name.asc())
        .load(conn)
}
