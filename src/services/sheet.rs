//! The one CSV writer of every export (audit log, credential report, import template). Every cell is
//! guarded: a value a person typed (a name, an email, a description) never starts a spreadsheet formula.

use crate::error::{Error, Result};

/// A CSV file being written in memory.
#[derive(Debug)]
pub struct Sheet {
    out: csv::Writer<Vec<u8>>,
}

impl Sheet {
    /// A sheet with its header row.
    pub fn new(header: &[&str]) -> Result<Self> {
        let mut sheet = Self { out: csv::Writer::from_writer(Vec::new()) };
        sheet.row(header)?;
        Ok(sheet)
    }

    /// Appends a row, every cell guarded.
    pub fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) -> Result<()> {
        let guarded: Vec<String> = cells.into_iter().map(|c| cell(c.as_ref())).collect();
        self.out.write_record(&guarded).map_err(|e| Error::Internal(format!("CSV: {e}")))
    }

    pub fn finish(self) -> Result<Vec<u8>> {
        self.out.into_inner().map_err(|e| Error::Internal(format!("CSV: {e}")))
    }
}

/// A cell that cannot run as a formula when opened: one starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return gets a leading `'`.
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_cell_ever_starts_a_formula() {
        let mut sheet = Sheet::new(&["a", "b"]).unwrap_or_else(|e| panic!("{e}"));
        sheet.row(["=HYPERLINK(\"x\")", "ada@example.com"]).unwrap_or_else(|e| panic!("{e}"));
        sheet.row(["-1+2", "@SUM(A1)"]).unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8(sheet.finish().unwrap_or_default()).unwrap_or_default();
        assert_eq!(text, "a,b\n\"'=HYPERLINK(\"\"x\"\")\",ada@example.com\n'-1+2,'@SUM(A1)\n");
    }

    proptest::proptest! {
        #[test]
        fn whatever_is_written_no_field_starts_a_formula(cells in proptest::collection::vec("\\PC{0,12}", 1..5)) {
            let header = vec!["h"; cells.len()];
            let mut sheet = Sheet::new(&header).map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            sheet.row(&cells).map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            let bytes = sheet.finish().map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes.as_slice());
            for record in reader.records() {
                let record = record.map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
                for field in &record {
                    proptest::prop_assert!(!field.starts_with(['=', '+', '-', '@', '\t', '\r']), "{field:?}");
                }
            }
        }
    }
}
