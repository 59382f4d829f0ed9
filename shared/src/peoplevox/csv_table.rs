//! The CSV that Peoplevox carries inside SOAP strings: a header row of field names and rows.

/// A table of CSV data with its header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CsvTable {
    /// Field names, in column order.
    pub headers: Vec<String>,
    /// Rows, each as long as `headers`.
    pub rows: Vec<Vec<String>>,
}

/// A CSV table that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid CSV from Peoplevox: {0}")]
pub struct CsvError(pub String);

impl CsvTable {
    /// An empty table with these headers.
    pub fn new(headers: Vec<String>) -> Self {
        Self {
            headers,
            rows: Vec::new(),
        }
    }

    /// Index of a column by exact field name.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    /// The value of `name` in row `row`, if both exist.
    pub fn value<'a>(&'a self, row: &'a [String], name: &str) -> Option<&'a str> {
        self.column(name)
            .and_then(|i| row.get(i))
            .map(String::as_str)
    }

    /// Writes RFC 4180 CSV (header first, `\r\n` line ends, quotes only where needed).
    pub fn to_csv(&self) -> String {
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        // Writing to a Vec cannot fail on I/O; a row of the wrong length is a programming
        // error caught by the tests, so the rows are written as they are.
        let _ = writer.write_record(&self.headers);
        for row in &self.rows {
            let _ = writer.write_record(row);
        }
        let bytes = writer.into_inner().unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }

    /// Reads CSV with a header row. Empty text is an empty table.
    pub fn parse(text: &str) -> Result<Self, CsvError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| CsvError(e.to_string()))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| CsvError(e.to_string()))?;
            rows.push(record.iter().map(str::to_string).collect());
        }
        Ok(Self { headers, rows })
    }
}
