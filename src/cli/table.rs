//! The one way listings look to people: `functions list`, `activations list`, `triggers list`
//! and `namespace list` all print through [`Table`], so their columns line up alike.
//!
//! Columns are left-aligned and two spaces apart, measured by display width (an `é` is one
//! column, a CJK character two), so names in any script stay aligned. The last column is not
//! padded and no line ends in spaces, which keeps snapshots and `grep`s stable.

use unicode_width::UnicodeWidthStr;

/// Rows of text cells, an optional header first.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table whose first row is `header`.
    pub fn new(header: &[&str]) -> Self {
        Table {
            rows: vec![header.iter().map(|h| h.to_string()).collect()],
        }
    }

    /// A table without a header.
    pub fn headless() -> Self {
        Table::default()
    }

    /// Adds a row.
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// The table as lines, each ending in a newline.
    pub fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0usize; columns];
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.width());
            }
        }
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                line.push_str(cell);
                if i + 1 < row.len() {
                    let pad = widths[i] - cell.width() + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// Prints the table on stdout.
    pub fn print(&self) {
        print!("{}", self.render());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_by_display_width() {
        let mut t = Table::new(&["NAME", "KIND", "WEB"]);
        t.row(["café/menu", "nodejs:20", "yes"]);
        t.row(["日本/f", "go:1.22", ""]);
        assert_eq!(
            t.render(),
            "NAME       KIND       WEB\n\
             café/menu  nodejs:20  yes\n\
             日本/f     go:1.22\n"
        );
    }

    #[test]
    fn headless_tables_have_only_rows() {
        let mut t = Table::headless();
        t.row(["* a", "https://x", "k***"]);
        t.row(["  longer", "h", "k"]);
        assert_eq!(
            t.render(),
            "* a       https://x  k***\n  longer  h          k\n"
        );
        assert_eq!(Table::headless().render(), "");
    }
}
