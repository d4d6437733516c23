//! Registry feeds: the CSV files the client's systems deliver (the customer
//! registry, the directory of points of service), read into named columns and
//! rows that keep their physical line numbers, so that a bad row is reported
//! by the line a person sees in an editor. Text handling only, no I/O.

/// Why a whole file was refused (a bad row is the caller's business).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedError {
    Empty,
    NotUtf8 { line: u64 },
    BlankColumn(usize),
    DuplicateColumn(String),
    MissingColumn(&'static str),
    Malformed { line: u64, message: String },
}

impl std::fmt::Display for FeedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FeedError::Empty => f.write_str("the file is empty: send a CSV file with a header row"),
            FeedError::NotUtf8 { line } => write!(
                f,
                "the file is not UTF-8 text (first bad byte on line {line}); save it as \"CSV UTF-8\""
            ),
            FeedError::BlankColumn(n) => write!(f, "column {n} of the header row has no name"),
            FeedError::DuplicateColumn(c) => write!(f, "the header row names '{c}' twice"),
            FeedError::MissingColumn(c) => {
                write!(f, "the header row has no '{c}' column; it is required")
            }
            FeedError::Malformed { line, message } => {
                write!(f, "line {line} cannot be read as CSV: {message}")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRow {
    /// Physical line in the file where the row starts (the header is line 1).
    pub line: u64,
    pub cells: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    pub delimiter: char,
    /// Header labels as written (trimmed).
    pub columns: Vec<String>,
    pub rows: Vec<FeedRow>,
}

impl Feed {
    /// The index of a standard column, however its label is spelt
    /// (`External key`, `external_key`, `EXTERNAL-KEY`).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| canonical(c) == name)
    }

    /// Fails with [`FeedError::MissingColumn`] unless the column is there.
    pub fn require(&self, name: &'static str) -> Result<usize, FeedError> {
        self.column(name).ok_or(FeedError::MissingColumn(name))
    }
}

impl FeedRow {
    /// The trimmed cell of a column; empty when the row is shorter.
    pub fn cell(&self, column: usize) -> &str {
        self.cells.get(column).map(String::as_str).unwrap_or("")
    }
}

/// A header label as a standard column name: folded, words joined by `_`.
pub fn canonical(label: &str) -> String {
    fold(label).replace(' ', "_")
}

/// `;` or `,` (or a tab), whichever the header row uses most outside quotes.
fn sniff_delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    let (mut semi, mut comma, mut tab, mut quoted) = (0, 0, 0, false);
    for c in header.chars() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => semi += 1,
            ',' if !quoted => comma += 1,
            '\t' if !quoted => tab += 1,
            _ => {}
        }
    }
    if tab > semi && tab > comma {
        b'\t'
    } else if semi > comma {
        b';'
    } else {
        b','
    }
}

/// Reads a CSV file: UTF-8 with or without a byte-order mark, `;` or `,`
/// separated (sniffed from the header row), quoted cells may hold separators
/// and line breaks. Rows with no content are skipped; trailing empty cells
/// beyond the header are dropped.
pub fn read(bytes: &[u8]) -> Result<Feed, FeedError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| FeedError::NotUtf8 {
        line: bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64
            + 1,
    })?;
    if text.trim().is_empty() {
        return Err(FeedError::Empty);
    }
    let delimiter = sniff_delimiter(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut columns: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    // The reader's own line numbers count a skipped blank line as the start of
    // the next record; count physical lines from the byte offsets instead.
    let data = text.as_bytes();
    let (mut seen, mut line) = (0usize, 1u64);
    for record in reader.records() {
        let record = record.map_err(|e| FeedError::Malformed {
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        })?;
        let mut start = record
            .position()
            .map_or(seen, |p| p.byte() as usize)
            .clamp(seen, data.len());
        while start < data.len() && (data[start] == b'\n' || data[start] == b'\r') {
            start += 1;
        }
        line += data[seen..start].iter().filter(|b| **b == b'\n').count() as u64;
        seen = start;
        let mut cells: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        match &columns {
            None => {
                while cells.last().is_some_and(String::is_empty) {
                    cells.pop();
                }
                for (i, c) in cells.iter().enumerate() {
                    if c.is_empty() {
                        return Err(FeedError::BlankColumn(i + 1));
                    }
                    if cells[..i].iter().any(|p| canonical(p) == canonical(c)) {
                        return Err(FeedError::DuplicateColumn(c.clone()));
                    }
                }
                columns = Some(cells);
            }
            Some(cols) => {
                while cells.len() > cols.len() && cells.last().is_some_and(String::is_empty) {
                    cells.pop();
                }
                rows.push(FeedRow { line, cells });
            }
        }
    }
    Ok(Feed {
        delimiter: delimiter as char,
        columns: columns.ok_or(FeedError::Empty)?,
        rows,
    })
}

/// Splits a cell holding several values (`06 1234567; 347 7654321`).
pub fn several(cell: &str) -> Vec<String> {
    cell.split(';')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// Yes/no as feeds write it (`1`, `true`, `sì`, `yes`, `0`, `no`…).
pub fn yes_no(cell: &str) -> Option<bool> {
    match fold(cell).as_str() {
        "1" | "true" | "vero" | "si" | "s" | "yes" | "y" | "attivo" | "active" => Some(true),
        "0" | "false" | "falso" | "no" | "n" | "inattivo" | "inactive" => Some(false),
        _ => None,
    }
}

/// Lowercase, without accents, punctuation as single spaces: `Valle d’Aosta`
/// and `valle d'aosta` are one key, on both databases alike.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.chars().flat_map(char::to_lowercase).map(plain) {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(c);
        } else {
            gap = true;
        }
    }
    out
}

/// A Latin letter without its accent.
fn plain(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'ď' | 'đ' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' => 'i',
        'ł' => 'l',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => 'o',
        'ř' => 'r',
        'ś' | 'š' | 'ş' => 's',
        'ť' | 'ţ' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => 'u',
        'ý' | 'ÿ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semicolons_bom_quotes_and_physical_lines() {
        let text = "\u{feff}external_key;Nome;Tipo carta\nK1;\"Rossi; Mario\";Oro\n\nK2;\"Ирина\nПетрова\";Argento\nK3;Jiří Novák;\n;;\n";
        let feed = read(text.as_bytes()).unwrap();
        assert_eq!(feed.delimiter, ';');
        assert_eq!(feed.columns, vec!["external_key", "Nome", "Tipo carta"]);
        let lines: Vec<u64> = feed.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 4, 6]);
        assert_eq!(feed.rows[0].cell(1), "Rossi; Mario");
        assert_eq!(feed.rows[1].cell(1), "Ирина\nПетрова");
        assert_eq!(feed.rows[2].cell(2), "");
        assert_eq!(feed.require("external_key"), Ok(0));
        assert_eq!(feed.column("tipo_carta"), Some(2));
    }

    #[test]
    fn commas_and_refusals() {
        let feed = read(b"External Key,name\r\nA,\"x, y\"\r\n").unwrap();
        assert_eq!(feed.delimiter, ',');
        assert_eq!(feed.column("external_key"), Some(0));
        assert_eq!(feed.rows[0].cell(1), "x, y");
        assert_eq!(feed.rows[0].cell(7), "");
        assert_eq!(read(b"  \n"), Err(FeedError::Empty));
        assert_eq!(
            read(b"external_key;name\nK1;Citt\xe0\n"),
            Err(FeedError::NotUtf8 { line: 2 })
        );
        assert_eq!(
            read(b"external_key;;name\n"),
            Err(FeedError::BlankColumn(2))
        );
        assert!(matches!(
            read(b"name;Name\n"),
            Err(FeedError::DuplicateColumn(_))
        ));
        let feed = read(b"name;city\nx;y\n").unwrap();
        assert_eq!(
            feed.require("external_key"),
            Err(FeedError::MissingColumn("external_key"))
        );
    }

    #[test]
    fn folding_and_values() {
        assert_eq!(fold("  Valle d’Aosta "), "valle d aosta");
        assert_eq!(fold("Friuli-Venezia Giulia"), "friuli venezia giulia");
        assert_eq!(fold("FORLÌ-Cesena"), "forli cesena");
        assert_eq!(fold("Plzeňský kraj"), "plzensky kraj");
        assert_eq!(fold("Москва"), "москва");
        assert_eq!(canonical("Contract Number"), "contract_number");
        assert_eq!(
            several(" 06 1234567 ;; 347 1234567"),
            vec!["06 1234567", "347 1234567"]
        );
        assert_eq!(yes_no("Sì"), Some(true));
        assert_eq!(yes_no("0"), Some(false));
        assert_eq!(yes_no("forse"), None);
    }
}
