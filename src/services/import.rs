//! Bulk add from a spreadsheet (CSV or XLSX; columns email, name, role, permissions). Reading a file
//! gives rows; planning them against the workspace gives the preview (what each row creates or
//! changes, or why it is refused); applying re-plans inside one transaction and writes the good rows.
//! Nothing changes until apply, and apply refuses when the plan no longer matches the preview.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Cursor;

use crate::db::{DbConn, accounts, audit, permissions, workspaces};
use crate::domain::Invalid;
use crate::domain::account::DisplayName;
use crate::domain::email::Email;
use crate::domain::role::ConsoleRole;
use crate::error::{Error, Result};
use crate::services::Caller;
use crate::services::accounts::{Newcomer, enrol};
use crate::state::AppState;

/// Largest file accepted.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;
/// Most data rows in one file.
pub const MAX_ROWS: usize = 20_000;
pub const COLUMNS: [&str; 4] = ["email", "name", "role", "permissions"];

pub use crate::domain::sheet::SheetRow;

/// Reads a CSV or XLSX file (told apart by content, not by name).
pub fn read(filename: &str, bytes: &[u8]) -> Result<Vec<SheetRow>, Invalid> {
    if bytes.is_empty() {
        return Err(Invalid::new("file", "Choose a file: the upload was empty."));
    }
    if bytes.len() > MAX_BYTES {
        return Err(too_large());
    }
    let cells = if bytes.starts_with(b"PK\x03\x04") {
        xlsx_cells(bytes)?
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) || filename.to_lowercase().ends_with(".xls") {
        return Err(Invalid::new("file", "Old .xls workbooks are not read: save it as .xlsx or .csv and upload that."));
    } else {
        csv_cells(bytes)?
    };
    rows_of(cells)
}

pub fn too_large() -> Invalid {
    Invalid::new(
        "file",
        format!(
            "The file is larger than {} MB. Split it into smaller files and import them one by one.",
            MAX_BYTES >> 20
        ),
    )
}

/// Rows of cells with their line number in the sheet (1-based).
type Cells = Vec<(usize, Vec<String>)>;

fn csv_cells(bytes: &[u8]) -> Result<Cells, Invalid> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Invalid::new("file", "The file is neither an .xlsx workbook nor UTF-8 CSV text."))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut cells = Vec::new();
    let (mut line, mut counted) = (1, 0);
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, csv::Position::line);
            Invalid::new("file", format!("The CSV cannot be read at line {line}: check its quotes."))
        })?;
        // The reader's line count skips blank lines; count newlines up to where the record's text starts.
        let start = record.position().map_or(counted, |p| usize::try_from(p.byte()).unwrap_or(counted));
        let bytes = text.as_bytes();
        let mut at = start.clamp(counted, bytes.len());
        while at < bytes.len() && matches!(bytes[at], b'\n' | b'\r') {
            at += 1;
        }
        line += bytes[counted..at].iter().filter(|b| **b == b'\n').count();
        counted = at;
        cells.push((line, record.iter().map(str::to_owned).collect()));
        if cells.len() > MAX_ROWS + 1 {
            return Err(too_many());
        }
    }
    Ok(cells)
}

fn xlsx_cells(bytes: &[u8]) -> Result<Cells, Invalid> {
    use calamine::Reader;
    let unreadable = |_| Invalid::new("file", "The workbook cannot be read. Save it again as .xlsx or .csv.");
    let mut book = calamine::Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| Invalid::new("file", "The workbook has no sheet."))?
        .map_err(unreadable)?;
    if range.height() > MAX_ROWS + 1 {
        return Err(too_many());
    }
    let first = range.start().map_or(0, |(row, _)| usize::try_from(row).unwrap_or(0));
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, row)| (first + i + 1, row.iter().map(ToString::to_string).collect()))
        .collect())
}

fn too_many() -> Invalid {
    Invalid::new("file", format!("The file has more than {MAX_ROWS} rows. Split it and import the parts one by one."))
}

/// Finds the columns by their header (any order, any case) and turns the rest into rows.
fn rows_of(cells: Cells) -> Result<Vec<SheetRow>, Invalid> {
    let mut lines = cells.into_iter().filter(|(_, row)| row.iter().any(|c| !c.trim().is_empty()));
    let Some((_, header)) = lines.next() else {
        return Err(Invalid::new("file", "The file has no rows."));
    };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    let column = |name: &str| header.iter().position(|h| h == name);
    let Some(email) = column("email") else {
        return Err(Invalid::new(
            "file",
            "The first row must name the columns: email, name, role, permissions. Download the template to start from.",
        ));
    };
    let (name, role, perms) = (column("name"), column("role"), column("permissions"));
    let cell = |row: &[String], at: Option<usize>| {
        at.and_then(|i| row.get(i)).map(|c| c.trim().to_owned()).unwrap_or_default()
    };
    let rows: Vec<SheetRow> = lines
        .map(|(line, row)| SheetRow {
            line,
            email: cell(&row, Some(email)),
            name: cell(&row, name),
            role: cell(&row, role),
            permissions: cell(&row, perms),
        })
        .collect();
    if rows.is_empty() {
        return Err(Invalid::new("file", "The file has a header row but no people under it."));
    }
    if rows.len() > MAX_ROWS {
        return Err(too_many());
    }
    Ok(rows)
}

/// What applying a row does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Create,
    /// The email has an account elsewhere: it is invited, and joins when it accepts.
    Invite,
    /// The changes, in words.
    Update(Vec<String>),
    Unchanged,
    /// Why the row is refused.
    Refused(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRow {
    pub line: usize,
    pub email: String,
    pub name: String,
    pub role: Option<ConsoleRole>,
    /// (id, name) of the permissions listed.
    pub permissions: Vec<(i64, String)>,
    pub action: Action,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub rows: Vec<PlannedRow>,
}

impl Plan {
    fn count(&self, f: impl Fn(&Action) -> bool) -> usize {
        self.rows.iter().filter(|r| f(&r.action)).count()
    }

    pub fn creates(&self) -> usize {
        self.count(|a| *a == Action::Create)
    }

    pub fn invites(&self) -> usize {
        self.count(|a| *a == Action::Invite)
    }

    pub fn updates(&self) -> usize {
        self.count(|a| matches!(a, Action::Update(_)))
    }

    pub fn unchanged(&self) -> usize {
        self.count(|a| *a == Action::Unchanged)
    }

    pub fn refused(&self) -> usize {
        self.count(|a| matches!(a, Action::Refused(_)))
    }
}

/// What the workspace holds, loaded once per plan.
struct Known {
    /// email → (account id, display name)
    accounts: HashMap<String, (i64, String)>,
    /// account id → console role here
    members: HashMap<i64, ConsoleRole>,
    /// account id → direct permission ids here
    held: HashMap<i64, BTreeSet<i64>>,
    /// Members whose account the caller may not change (`accounts::changeable`): their names stay.
    locked: HashSet<i64>,
    /// The catalogue, by lower-cased name and by lower-cased label (labels that several permissions
    /// share name none of them).
    catalogue: HashMap<String, i64>,
    labels: HashMap<String, Option<i64>>,
    /// permission id → internal name, as shown in the preview and stored in the audit trail.
    names: HashMap<i64, String>,
}

impl Known {
    /// A permission as a sheet names it: its internal name or its label, in any case.
    fn permission(&self, written: &str) -> Result<i64, String> {
        let key = written.to_lowercase();
        if let Some(id) = self.catalogue.get(&key) {
            return Ok(*id);
        }
        match self.labels.get(&key) {
            Some(Some(id)) => Ok(*id),
            Some(None) => {
                Err(format!("\u{201c}{written}\u{201d} is the label of several permissions: use the internal name"))
            }
            None => Err(format!("unknown permission \u{201c}{written}\u{201d}")),
        }
    }
}

/// A display name for a new account listed by email only: "jane.doe@example.com" becomes "Jane Doe".
/// Editable later; the preview shows it.
fn name_from_email(email: &str) -> String {
    let local = email.split('@').next().unwrap_or_default();
    let local = local.split('+').next().unwrap_or_default();
    local
        .split(['.', '_', '-'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map(|first| first.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn known(c: &mut DbConn, caller: &Caller) -> Result<Known> {
    let workspace_id = caller.workspace_id;
    let accounts: HashMap<String, (i64, String)> =
        accounts::all_emails(c)?.into_iter().map(|(id, email, name)| (email, (id, name))).collect();
    let members: HashMap<i64, ConsoleRole> =
        accounts::members(c, workspace_id)?.into_iter().map(|m| (m.account.id, m.role)).collect();
    let locked = match caller.account_id {
        Some(me) => accounts::beyond_reach(c, workspace_id, me)?,
        None => HashSet::new(),
    };
    let mut held: HashMap<i64, BTreeSet<i64>> = HashMap::new();
    for (account, permission) in permissions::account_permission_pairs(c, workspace_id)? {
        held.entry(account).or_default().insert(permission);
    }
    let rows = permissions::rows(c, workspace_id)?;
    let catalogue = rows.iter().map(|p| (p.name.to_lowercase(), p.id)).collect();
    let mut labels: HashMap<String, Option<i64>> = HashMap::new();
    for p in rows.iter().filter(|p| !p.label.trim().is_empty()) {
        labels.entry(p.label.trim().to_lowercase()).and_modify(|id| *id = None).or_insert(Some(p.id));
    }
    let names = rows.into_iter().map(|p| (p.id, p.name)).collect();
    Ok(Known { accounts, members, held, locked, catalogue, labels, names })
}

fn plan_row(known: &Known, caller: &Caller, seen: &mut HashMap<String, usize>, row: &SheetRow) -> PlannedRow {
    let mut problems = Vec::new();
    let email = match Email::parse(&row.email) {
        Ok(email) => email.as_str().to_owned(),
        Err(_) if row.email.is_empty() => {
            problems.push("the email is missing".to_owned());
            String::new()
        }
        Err(_) => {
            problems.push(format!("\u{201c}{}\u{201d} is not a valid email address", row.email));
            row.email.clone()
        }
    };
    if !email.is_empty() {
        if let Some(first) = seen.get(&email) {
            problems.push(format!("the same email as row {first}"));
        } else {
            seen.insert(email.clone(), row.line);
        }
    }
    // Another workspace's person is only invited: nothing of their account is shown or changed here.
    let existing = known.accounts.get(&email);
    let member = existing.filter(|(id, _)| known.members.contains_key(id));
    let name = if existing.is_some() && member.is_none() {
        String::new()
    } else if row.name.is_empty() {
        match member {
            Some((_, current)) => current.clone(),
            None => match DisplayName::parse(&name_from_email(&email)) {
                Ok(n) => n.as_str().to_owned(),
                Err(_) => {
                    problems.push("a name is needed: none could be made from the address".to_owned());
                    String::new()
                }
            },
        }
    } else {
        match DisplayName::parse(&row.name) {
            Ok(n) => n.as_str().to_owned(),
            Err(e) => {
                problems.push(e.message.trim_end_matches('.').to_lowercase());
                row.name.clone()
            }
        }
    };
    let role = if row.role.is_empty() {
        None
    } else {
        let parsed = ConsoleRole::parse(&row.role);
        if parsed.is_none() {
            problems.push(format!("unknown role \u{201c}{}\u{201d} (use Administrator, Auditor or Member)", row.role));
        }
        parsed
    };
    let mut listed = Vec::new();
    for written in row.permissions.split(';').map(str::trim).filter(|n| !n.is_empty()) {
        match known.permission(written) {
            Ok(id) if !listed.iter().any(|(i, _)| *i == id) => listed.push((id, known.names[&id].clone())),
            Ok(_) => {}
            Err(problem) => problems.push(problem),
        }
    }
    let action = match (existing, member) {
        _ if !problems.is_empty() => Action::Refused(problems),
        (None, _) => Action::Create,
        (Some(_), None) => Action::Invite,
        (_, Some((id, current_name))) => update_of(known, caller, *id, current_name, &name, role, &listed),
    };
    PlannedRow { line: row.line, email, name, role, permissions: listed, action }
}

/// What a valid row changes for an existing account.
fn update_of(
    known: &Known,
    caller: &Caller,
    id: i64,
    current_name: &str,
    name: &str,
    role: Option<ConsoleRole>,
    listed: &[(i64, String)],
) -> Action {
    let mut changes = Vec::new();
    if let Some((current, wanted)) = known.members.get(&id).and_then(|c| role.filter(|r| r != c).map(|w| (c, w))) {
        if caller.is(id) {
            return Action::Refused(vec!["you cannot change your own console role".to_owned()]);
        }
        changes.push(format!("role {} \u{2192} {}", current.label(), wanted.label()));
    }
    if name != current_name {
        if known.locked.contains(&id) {
            return Action::Refused(vec![
                "their name can be changed only by a super-administrator: they also belong to a workspace you do not administer (leave the name empty)".to_owned(),
            ]);
        }
        changes.push(format!("name \u{201c}{current_name}\u{201d} \u{2192} \u{201c}{name}\u{201d}"));
    }
    let held = known.held.get(&id);
    let added: Vec<&str> =
        listed.iter().filter(|(p, _)| !held.is_some_and(|h| h.contains(p))).map(|(_, n)| n.as_str()).collect();
    if !added.is_empty() {
        changes.push(format!("+ {}", added.join(", ")));
    }
    if changes.is_empty() { Action::Unchanged } else { Action::Update(changes) }
}

fn plan_with(known: &Known, caller: &Caller, rows: &[SheetRow]) -> Plan {
    let mut seen = HashMap::new();
    Plan { rows: rows.iter().map(|row| plan_row(known, caller, &mut seen, row)).collect() }
}

/// The preview: what applying `rows` would do now. Administrators only.
pub fn plan(state: &AppState, caller: &Caller, rows: &[SheetRow]) -> Result<Plan> {
    caller.must_administer()?;
    state.db.read(|c| Ok::<_, Error>(plan_with(&known(c, caller)?, caller, rows)))
}

/// Applies the good rows in one transaction, provided the plan still has the previewed numbers
/// (`creates`, `invites`, `updates`); returns the plan applied. New accounts have no password yet.
pub fn apply(
    state: &AppState,
    caller: &Caller,
    rows: &[SheetRow],
    previewed: (usize, usize, usize),
    email: bool,
) -> Result<Plan> {
    caller.must_administer()?;
    let (now, post) = (state.now(), crate::services::email::Post::of(state));
    let emailing = email && post.is_on();
    let ws = caller.workspace_id;
    state.db.write(|c| {
        let known = known(c, caller)?;
        let plan = plan_with(&known, caller, rows);
        if (plan.creates(), plan.invites(), plan.updates()) != previewed {
            return Err(Error::Conflict(
                "The people or permissions changed since the preview. Nothing was imported; upload the file again to review."
                    .into(),
            ));
        }
        let mut events = Vec::with_capacity(plan.rows.len() + 1);
        for row in &plan.rows {
            let ids: Vec<i64> = row.permissions.iter().map(|(id, _)| *id).collect();
            let names: Vec<&str> = row.permissions.iter().map(|(_, n)| n.as_str()).collect();
            match &row.action {
                Action::Create => {
                    let email = Email::parse(&row.email)?;
                    let role = row.role.unwrap_or(ConsoleRole::Member);
                    let newcomer = Newcomer {
                        email: &email,
                        name: &row.name,
                        password_hash: None,
                        workspace_id: ws,
                        role,
                        super_admin: false,
                        permissions: &ids,
                        email_unverified: false,
                        oidc_subject: None,
                    };
                    let id = enrol(c, &newcomer, now)?;
                    let after = serde_json::json!({ "name": row.name, "role": role.code(), "permissions": names, "source": "import", "invited_by_email": emailing });
                    events.push(caller.event("account.created").on("account", id, &row.email).change(None, Some(after)));
                    if emailing {
                        let who = (id, row.email.as_str(), row.name.as_str());
                        crate::services::email::invite_with_link(c, &post, caller, who, now)?;
                    }
                }
                Action::Invite => {
                    let (id, _) = known.accounts[&row.email];
                    let role = row.role.unwrap_or(ConsoleRole::Member);
                    let invited = crate::services::invitations::invite(c, caller, (id, &row.email), role, "import", now)?;
                    if emailing && invited.is_some() {
                        crate::services::email::joined(c, &post, caller, (id, &row.email), true, now)?;
                    }
                    events.extend(invited);
                }
                Action::Update(changes) => {
                    let (id, current_name) = &known.accounts[&row.email];
                    let id = *id;
                    if let Some(role) = row.role.filter(|r| known.members.get(&id) != Some(r)) {
                        workspaces::set_role(c, ws, id, role)?;
                    }
                    if row.name != *current_name {
                        accounts::set_display_name(c, id, &row.name)?;
                    }
                    permissions::add_account_permissions(c, ws, id, &ids)?;
                    let after = serde_json::json!({ "changes": changes, "source": "import" });
                    events.push(caller.event("account.updated").on("account", id, &row.email).change(None, Some(after)));
                }
                Action::Unchanged | Action::Refused(_) => {}
            }
        }
        let summary = serde_json::json!({
            "created": plan.creates(), "invited": plan.invites(), "updated": plan.updates(), "unchanged": plan.unchanged(), "refused": plan.refused(),
        });
        events.push(caller.event("accounts.imported").change(None, Some(summary)));
        audit::record_all(c, now, &events)?;
        Ok(plan)
    })
}

/// The template file: the header and two example rows using the workspace's own permission names.
pub fn template(permission_names: &[String]) -> Vec<u8> {
    let example = permission_names.iter().take(2).cloned().collect::<Vec<_>>().join(";");
    // Writing to memory cannot fail.
    let mut sheet = match crate::services::sheet::Sheet::new(&COLUMNS) {
        Ok(sheet) => sheet,
        Err(_) => return Vec::new(),
    };
    for row in [
        ["ada@example.com", "Ada Lovelace", "Member", example.as_str()],
        ["grace@example.com", "Grace Hopper", "Auditor", ""],
    ] {
        sheet.row(row).ok();
    }
    sheet.finish().unwrap_or_default()
}

/// Reads an uploaded file and plans it: the preview, and the token that names the rows held (in
/// `memory::uploads`) until the same administrator applies them.
pub fn preview(state: &AppState, caller: &Caller, filename: &str, rows: Vec<SheetRow>) -> Result<(Plan, String)> {
    let plan = plan(state, caller, &rows)?;
    let token = state.uploads.put((caller.workspace_id, caller.account_id), state.now(), filename, rows)?;
    Ok((plan, token))
}

/// Applies the rows a preview held, once: the upload is forgotten when it has been applied.
pub fn apply_held(
    state: &AppState,
    caller: &Caller,
    token: &str,
    previewed: (usize, usize, usize),
    email: bool,
) -> Result<Plan> {
    let (_, rows) =
        state.uploads.get(token, (caller.workspace_id, caller.account_id), state.now()).ok_or_else(|| {
            Error::Conflict("This upload is no longer held (it expired or was applied). Upload the file again.".into())
        })?;
    let plan = apply(state, caller, &rows, previewed, email)?;
    state.uploads.forget(token);
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_made_from_the_address() {
        assert_eq!(name_from_email("jane.doe@example.com"), "Jane Doe");
        assert_eq!(name_from_email("j_smith-jones+it@example.com"), "J Smith Jones");
        assert_eq!(name_from_email("émile@example.com"), "Émile");
    }

    #[test]
    fn csv_columns_are_found_by_header_in_any_order_and_case() {
        let rows =
            read("x.csv", b"\xef\xbb\xbfName,EMAIL,permissions\nAda,ada@example.com,a.b;c.d\n\n,bob@example.com,\n")
                .expect("rows");
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0],
            SheetRow {
                line: 2,
                email: "ada@example.com".into(),
                name: "Ada".into(),
                role: String::new(),
                permissions: "a.b;c.d".into()
            }
        );
        assert_eq!(rows[1].line, 4, "blank lines keep the numbering");
    }

    #[test]
    fn unreadable_files_are_refused_with_a_reason() {
        assert!(read("x.csv", b"").is_err());
        assert!(read("x.csv", b"name,role\nAda,member\n").expect_err("no email column").message.contains("template"));
        assert!(read("x.csv", b"email\n").expect_err("no rows").message.contains("no people"));
        assert!(read("x.xls", b"\xd0\xcf\x11\xe0rest").expect_err("xls").message.contains(".xlsx"));
        assert!(read("x.csv", &[0xff, 0xfe, 0x00]).expect_err("binary").message.contains("UTF-8"));
        assert!(read("x.xlsx", b"PK\x03\x04broken").expect_err("zip").message.contains("cannot be read"));
        let big = vec![b'a'; MAX_BYTES + 1];
        assert!(read("x.csv", &big).expect_err("big").message.contains("larger than"));
    }

    #[test]
    fn the_template_reads_back() {
        let file = template(&["device.lock".into(), "device.view".into()]);
        let rows = read("template.csv", &file).expect("template");
        assert_eq!(rows[0].permissions, "device.lock;device.view");
        assert_eq!(rows[1].role, "Auditor");
    }

    fn xlsx_of(rows: &[[String; 4]]) -> Vec<u8> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                if !cell.is_empty() {
                    let (r, c) = (u32::try_from(r).expect("row"), u16::try_from(c).expect("col"));
                    sheet.write_string(r, c, cell).expect("cell");
                }
            }
        }
        book.save_to_buffer().expect("xlsx")
    }

    fn sheet() -> impl Strategy<Value = Vec<[String; 4]>> {
        let row = ("[a-z]{1,8}@example\\.com", "\\PC{0,16}", "\\PC{0,10}", "\\PC{0,24}")
            .prop_map(|(e, n, r, p)| [e, n, r, p]);
        proptest::collection::vec(row, 1..6)
    }

    fn expected(rows: &[[String; 4]]) -> Vec<SheetRow> {
        rows.iter()
            .enumerate()
            .map(|(i, [email, name, role, permissions])| SheetRow {
                line: i + 2,
                email: email.trim().to_owned(),
                name: name.trim().to_owned(),
                role: role.trim().to_owned(),
                permissions: permissions.trim().to_owned(),
            })
            .collect()
    }

    fn with_header(rows: &[[String; 4]]) -> Vec<[String; 4]> {
        let mut all = vec![COLUMNS.map(str::to_owned)];
        all.extend_from_slice(rows);
        all
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn no_bytes_make_the_reader_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), zip in any::<bool>()) {
            let mut file = if zip { b"PK\x03\x04".to_vec() } else { Vec::new() };
            file.extend(bytes);
            let _ = read("upload", &file);
        }

        #[test]
        fn csv_rows_read_back_as_written(rows in sheet()) {
            let mut writer = csv::Writer::from_writer(Vec::new());
            for row in with_header(&rows) {
                writer.write_record(&row).expect("row");
            }
            let file = writer.into_inner().expect("csv");
            prop_assert_eq!(read("people.csv", &file).expect("rows"), expected(&rows));
        }

        #[test]
        fn xlsx_rows_read_back_as_written(rows in sheet()) {
            let file = xlsx_of(&with_header(&rows));
            prop_assert_eq!(read("people.xlsx", &file).expect("rows"), expected(&rows));
        }

        #[test]
        fn a_damaged_workbook_is_refused_or_read_never_a_panic(
            rows in sheet(),
            damage in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ) {
            let mut file = xlsx_of(&with_header(&rows));
            for (at, byte) in damage {
                let i = at.index(file.len());
                file[i] = byte;
            }
            let _ = read("people.xlsx", &file);
        }
    }
}
