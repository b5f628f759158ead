//! A spreadsheet row as an import reads it, before any rule is applied.

/// One data row as the file has it; `line` is its row number in the sheet (the header is row 1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SheetRow {
    pub line: usize,
    pub email: String,
    pub name: String,
    pub role: String,
    pub permissions: String,
}
