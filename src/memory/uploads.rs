//! Spreadsheets uploaded for import, held between preview and apply.

use crate::domain::sheet::SheetRow;
use crate::error::{Error, Result};

/// Who uploaded: the workspace, and the account (`None` for the command line).
pub type Uploader = (i64, Option<i64>);

/// Uploaded files between preview and apply, held in memory for half an hour by the administrator
/// who uploaded them (a restart forgets them; uploading again is the remedy). Each workspace has its own
/// few places, so one workspace's uploads never push out another's.
#[derive(Debug, Default)]
pub struct Uploads {
    held: std::sync::Mutex<Vec<Upload>>,
}

#[derive(Debug)]
struct Upload {
    token: String,
    workspace_id: i64,
    account_id: Option<i64>,
    at: i64,
    filename: String,
    rows: std::sync::Arc<Vec<SheetRow>>,
}

/// How long an upload waits for "apply", how many wait per workspace (a new one replaces that workspace's
/// oldest), and how many in all (beyond that a new upload is refused until some expire).
const UPLOAD_TTL_SECS: i64 = 30 * 60;
const UPLOADS_PER_WORKSPACE: usize = 4;
const UPLOADS_HELD: usize = 64;

impl Uploads {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Upload>> {
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps the rows and returns the token that names them.
    pub fn put(
        &self,
        (workspace_id, account_id): Uploader,
        now: i64,
        filename: &str,
        rows: Vec<SheetRow>,
    ) -> Result<String> {
        let token = crate::crypto::random_token();
        let mut held = self.lock();
        held.retain(|u| now - u.at < UPLOAD_TTL_SECS);
        let mine = held.iter().filter(|u| u.workspace_id == workspace_id).count();
        if mine >= UPLOADS_PER_WORKSPACE {
            if let Some(oldest) = held.iter().position(|u| u.workspace_id == workspace_id) {
                held.remove(oldest);
            }
        } else if held.len() >= UPLOADS_HELD {
            return Err(Error::Conflict(
                "Too many imports are waiting to be applied. Try again in a few minutes.".into(),
            ));
        }
        held.push(Upload {
            token: token.clone(),
            workspace_id,
            account_id,
            at: now,
            filename: filename.to_owned(),
            rows: std::sync::Arc::new(rows),
        });
        Ok(token)
    }

    /// The file name and rows behind a token, for the caller who uploaded them.
    pub fn get(
        &self,
        token: &str,
        (workspace_id, account_id): Uploader,
        now: i64,
    ) -> Option<(String, std::sync::Arc<Vec<SheetRow>>)> {
        self.lock()
            .iter()
            .find(|u| {
                crate::crypto::constant_time_eq(u.token.as_bytes(), token.as_bytes())
                    && u.workspace_id == workspace_id
                    && u.account_id == account_id
                    && now - u.at < UPLOAD_TTL_SECS
            })
            .map(|u| (u.filename.clone(), u.rows.clone()))
    }

    pub fn forget(&self, token: &str) {
        self.lock().retain(|u| u.token != token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(workspace_id: i64) -> Uploader {
        (workspace_id, Some(workspace_id))
    }

    #[test]
    fn one_workspaces_uploads_never_push_out_anothers() {
        let uploads = Uploads::default();
        let theirs = caller(1);
        let kept = uploads.put(theirs, 0, "a.csv", Vec::new()).unwrap_or_default();
        let attacker = caller(2);
        for _ in 0..100 {
            uploads.put(attacker, 0, "x.csv", Vec::new()).ok();
        }
        assert!(uploads.get(&kept, theirs, 1).is_some(), "the first workspace's upload is still held");
        assert!(uploads.get(&kept, attacker, 1).is_none(), "and only for its uploader");
        // Many workspaces at once fill the installation's places: then new uploads wait, nothing is evicted.
        for ws in 3..40 {
            for _ in 0..UPLOADS_PER_WORKSPACE {
                uploads.put(caller(ws), 0, "y.csv", Vec::new()).ok();
            }
        }
        assert!(uploads.put(caller(99), 0, "z.csv", Vec::new()).is_err());
        assert!(uploads.get(&kept, theirs, 1).is_some());
    }
}
