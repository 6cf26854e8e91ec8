//! Workbook formats through calamine.
//!
//! XLSX/XLSM and XLSB are streamed cell by cell (`worksheet_cells_reader`),
//! so a 200k-row sheet never exists in memory as a whole; XLS and ODS go
//! through calamine's `Range`, which those readers build at open anyway.
//! Either way cells are grouped into rows, vertically merged cells are
//! filled down, and the rows go to a [`RowSink`].

use std::fs::File;
use std::io::BufReader;
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use calamine::{Data, DataRef, Dimensions, Ods, Reader, SheetType, Xls, Xlsb, Xlsx};

use super::header::Merge;
use super::{Cell, ColumnOverflow, Format, Location, ReadError, Row, RowSink, limit_text};
use crate::config::ReadOptions;

type FileReader = BufReader<File>;

/// An open workbook of any format calamine reads.
pub(super) struct Workbook {
    path: PathBuf,
    file_name: String,
    inner: Inner,
}

// Boxed: the readers are large and differ in size.
enum Inner {
    Xlsx(Box<Xlsx<FileReader>>),
    Xlsb(Box<Xlsb<FileReader>>),
    Xls(Box<Xls<FileReader>>),
    Ods(Box<Ods<FileReader>>),
}

/// Runs a calamine call, turning a panic inside it into an error.
///
/// calamine parses untrusted binary data; should one of its bounds checks
/// ever fail, the user must get "this file is damaged", not a crash. Only
/// calamine's own calls are wrapped — never the caller's callbacks — so a
/// bug on our side still surfaces as the panic it is.
fn guarded<T>(location: &Location, call: impl FnOnce() -> T) -> Result<T, ReadError> {
    guarded_lazy(call, || location.clone())
}

thread_local! {
    /// How deep this thread is inside guarded reader calls (see [`inside_guarded_read`]).
    static GUARDED: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Whether the current thread is inside a call into the spreadsheet parser whose panics are
/// caught and reported as a damaged file. A program's panic hook can use it to keep such a
/// contained panic out of the user's terminal (the error message says what happened).
pub fn inside_guarded_read() -> bool {
    GUARDED.with(|g| g.get() > 0)
}

/// [`guarded`] for the per-cell hot path: the location is only built when
/// something went wrong.
fn guarded_lazy<T>(
    call: impl FnOnce() -> T,
    location: impl FnOnce() -> Location,
) -> Result<T, ReadError> {
    GUARDED.with(|g| g.set(g.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(call));
    GUARDED.with(|g| g.set(g.get().saturating_sub(1)));
    result.map_err(|_| {
        ReadError::corrupt(
            &location(),
            "the spreadsheet reader failed on malformed content",
        )
    })
}

/// Maps calamine's open/read errors: password protection gets its own
/// message, everything else is "damaged".
fn calamine_error(location: &Location, error: calamine::Error) -> ReadError {
    let password = matches!(
        error,
        calamine::Error::Xlsx(calamine::XlsxError::Password)
            | calamine::Error::Xlsb(calamine::XlsbError::Password)
            | calamine::Error::Xls(calamine::XlsError::Password)
            | calamine::Error::Ods(calamine::OdsError::Password)
    );
    if password {
        ReadError::Encrypted {
            file: location.file.clone(),
        }
    } else {
        ReadError::corrupt(location, error)
    }
}

impl Workbook {
    pub(super) fn open(
        path: &Path,
        file_name: &str,
        format: Format,
    ) -> Result<Workbook, ReadError> {
        let location = Location::file(file_name);
        let inner = guarded(&location, || -> Result<Inner, calamine::Error> {
            Ok(match format {
                Format::Xlsx | Format::Xlsm => Inner::Xlsx(Box::new(
                    calamine::open_workbook(path).map_err(calamine::Error::Xlsx)?,
                )),
                Format::Xlsb => Inner::Xlsb(Box::new(
                    calamine::open_workbook(path).map_err(calamine::Error::Xlsb)?,
                )),
                Format::Xls => Inner::Xls(Box::new(
                    calamine::open_workbook(path).map_err(calamine::Error::Xls)?,
                )),
                // Csv never reaches here; Ods is the remaining workbook format.
                Format::Ods | Format::Csv => Inner::Ods(Box::new(
                    calamine::open_workbook(path).map_err(calamine::Error::Ods)?,
                )),
            })
        })?
        .map_err(|e| calamine_error(&location, e))?;
        Ok(Workbook {
            path: path.to_path_buf(),
            file_name: file_name.to_owned(),
            inner,
        })
    }

    /// Worksheet names in workbook order; chart, dialog and macro sheets hold
    /// no table and are left out.
    pub(super) fn sheet_names(&self) -> Vec<String> {
        let metadata = match &self.inner {
            Inner::Xlsx(book) => book.sheets_metadata(),
            Inner::Xlsb(book) => book.sheets_metadata(),
            Inner::Xls(book) => book.sheets_metadata(),
            Inner::Ods(book) => book.sheets_metadata(),
        };
        metadata
            .iter()
            .filter(|sheet| sheet.typ == SheetType::WorkSheet)
            .map(|sheet| sheet.name.clone())
            .collect()
    }

    /// Whether this format reports merged cells (ODS and XLSB do not
    /// through calamine).
    pub(super) fn supports_merges(&self) -> bool {
        matches!(self.inner, Inner::Xlsx(_) | Inner::Xls(_))
    }

    /// The merged regions of a sheet, rows 1-based.
    pub(super) fn merges(
        &mut self,
        sheet: &str,
        location: &Location,
    ) -> Result<Vec<Merge>, ReadError> {
        let dimensions: Vec<Dimensions> = match &mut self.inner {
            Inner::Xlsx(book) => {
                if let Some(merges) = super::xlsx_merges::merges(&self.path, sheet) {
                    return Ok(merges);
                }
                // Merges follow the cell data in the sheet XML, so this is a
                // separate (streaming) pass before the cells are read.
                guarded(location, || book.merge_cells_by_sheet_name(sheet))?
                    .map_err(|e| calamine_error(location, calamine::Error::Xlsx(e)))?
            }
            Inner::Xls(book) => guarded(location, || book.merge_cells_by_sheet_name(sheet))?
                .map_err(|e| calamine_error(location, calamine::Error::Xls(e)))?,
            Inner::Xlsb(_) | Inner::Ods(_) => Vec::new(),
        };
        Ok(dimensions
            .into_iter()
            .map(|d| Merge {
                first_row: d.start.0.min(d.end.0).saturating_add(1),
                last_row: d.start.0.max(d.end.0).saturating_add(1),
                first_col: d.start.1.min(d.end.1) as usize,
                last_col: d.start.1.max(d.end.1) as usize,
            })
            .collect())
    }

    /// Streams the sheet's rows into `sink`.
    pub(super) fn stream<S>(
        &mut self,
        sheet: &str,
        location: &Location,
        options: &ReadOptions,
        merges: &[Merge],
        sink: &mut S,
        warnings: &mut Vec<(Location, String)>,
    ) -> Result<(), S::Error>
    where
        S: RowSink,
        S::Error: From<ReadError>,
    {
        let mut rows = RowStream::new(sink, options, merges);
        let max_chars = options.max_cell_chars;
        match &mut self.inner {
            Inner::Xlsx(book) => {
                let mut reader = guarded(location, || book.worksheet_cells_reader(sheet))?
                    .map_err(|e| calamine_error(location, calamine::Error::Xlsx(e)))?;
                loop {
                    let next =
                        guarded_lazy(|| reader.next_cell(), || location.at_row(rows.last_row()))?
                            .map_err(|e| {
                            calamine_error(
                                &location.at_row(rows.last_row()),
                                calamine::Error::Xlsx(e),
                            )
                        })?;
                    let Some(cell) = next else { break };
                    let (row, col) = cell.get_position();
                    if rows
                        .cell(row, col, || convert_ref(cell.get_value(), max_chars))?
                        .is_break()
                    {
                        return Ok(());
                    }
                }
            }
            Inner::Xlsb(book) => {
                let mut reader = guarded(location, || book.worksheet_cells_reader(sheet))?
                    .map_err(|e| calamine_error(location, calamine::Error::Xlsb(e)))?;
                loop {
                    let next =
                        guarded_lazy(|| reader.next_cell(), || location.at_row(rows.last_row()))?
                            .map_err(|e| {
                            calamine_error(
                                &location.at_row(rows.last_row()),
                                calamine::Error::Xlsb(e),
                            )
                        })?;
                    let Some(cell) = next else { break };
                    let (row, col) = cell.get_position();
                    if rows
                        .cell(row, col, || convert_ref(cell.get_value(), max_chars))?
                        .is_break()
                    {
                        return Ok(());
                    }
                }
            }
            Inner::Xls(book) => {
                let range = guarded(location, || book.worksheet_range(sheet))?
                    .map_err(|e| calamine_error(location, calamine::Error::Xls(e)))?;
                if stream_range(&range, &mut rows, max_chars)?.is_break() {
                    return Ok(());
                }
            }
            Inner::Ods(book) => {
                let range = guarded(location, || book.worksheet_range(sheet))?
                    .map_err(|e| calamine_error(location, calamine::Error::Ods(e)))?;
                if stream_range(&range, &mut rows, max_chars)?.is_break() {
                    return Ok(());
                }
            }
        }
        let overflow = rows.finish()?;
        if let Some(warning) = overflow.into_warning(location, options.max_columns) {
            warnings.push(warning);
        }
        tracing::trace!(file = %self.file_name, sheet, "sheet read");
        Ok(())
    }
}

fn stream_range<S>(
    range: &calamine::Range<Data>,
    rows: &mut RowStream<'_, S>,
    max_chars: usize,
) -> Result<ControlFlow<()>, S::Error>
where
    S: RowSink,
    S::Error: From<ReadError>,
{
    let Some((first_row, first_col)) = range.start() else {
        return Ok(ControlFlow::Continue(()));
    };
    for (i, cells) in range.rows().enumerate() {
        let row = first_row.saturating_add(u32::try_from(i).unwrap_or(u32::MAX));
        for (j, value) in cells.iter().enumerate() {
            let col = first_col.saturating_add(u32::try_from(j).unwrap_or(u32::MAX));
            if rows
                .cell(row, col, || convert_data(value, max_chars))?
                .is_break()
            {
                return Ok(ControlFlow::Break(()));
            }
        }
    }
    Ok(ControlFlow::Continue(()))
}

/// Groups cells (in sheet order) into rows, applies `max_columns` and the
/// vertical fill-down, and pushes finished rows into the sink.
struct RowStream<'s, S> {
    sink: &'s mut S,
    max_columns: usize,
    fill: FillDown,
    /// 1-based number and cells of the row being assembled.
    current: Option<(u32, Vec<Cell>)>,
    /// Last row number pushed (0 before the first).
    pushed: u32,
    overflow: ColumnOverflow,
}

impl<'s, S> RowStream<'s, S>
where
    S: RowSink,
    S::Error: From<ReadError>,
{
    fn new(sink: &'s mut S, options: &ReadOptions, merges: &[Merge]) -> Self {
        RowStream {
            sink,
            max_columns: options.max_columns,
            fill: FillDown::new(merges, options.max_columns),
            current: None,
            pushed: 0,
            overflow: ColumnOverflow::default(),
        }
    }

    /// The last row read, for error locations.
    fn last_row(&self) -> u32 {
        self.current
            .as_ref()
            .map_or(self.pushed, |(number, _)| *number)
    }

    /// Adds one cell; `row` and `col` are calamine's 0-based positions. The
    /// value is converted lazily so cells beyond `max_columns` cost nothing.
    fn cell(
        &mut self,
        row: u32,
        col: u32,
        value: impl FnOnce() -> Cell,
    ) -> Result<ControlFlow<()>, S::Error> {
        let number = row.saturating_add(1);
        let mut flow = ControlFlow::Continue(());
        if self
            .current
            .as_ref()
            .is_some_and(|(current, _)| *current != number)
        {
            flow = self.flush()?;
            if flow.is_break() {
                return Ok(flow);
            }
        }
        let col = col as usize;
        let value = if col < self.max_columns {
            value()
        } else {
            // Styled but empty cells far right are common and harmless; only
            // values count as "used" columns.
            if value() != Cell::Empty {
                self.overflow.record(number, col);
            }
            return Ok(flow);
        };
        if value == Cell::Empty {
            // Keep the row open so fill-down still reaches a row whose only
            // cells are empty-but-styled.
            self.current.get_or_insert_with(|| (number, Vec::new()));
            return Ok(flow);
        }
        let (_, cells) = self.current.get_or_insert_with(|| (number, Vec::new()));
        if cells.len() <= col {
            cells.resize(col + 1, Cell::Empty);
        }
        cells[col] = value;
        Ok(flow)
    }

    fn flush(&mut self) -> Result<ControlFlow<()>, S::Error> {
        let Some((number, mut cells)) = self.current.take() else {
            return Ok(ControlFlow::Continue(()));
        };
        // Rows absent from the file but inside a vertical merge carry the
        // merged value and must appear.
        let mut gap = self.pushed.saturating_add(1);
        while gap < number && self.fill.has_active() {
            self.fill.retire(gap);
            if !self.fill.has_active() {
                break;
            }
            let mut filled = Vec::new();
            self.fill.apply(gap, &mut filled);
            if self
                .sink
                .push(Row {
                    number: gap,
                    cells: filled,
                })?
                .is_break()
            {
                return Ok(ControlFlow::Break(()));
            }
            gap += 1;
        }
        self.fill.retire(number);
        self.fill.apply(number, &mut cells);
        self.fill.activate(number, &cells);
        self.pushed = number;
        self.sink.push(Row { number, cells })
    }

    fn finish(mut self) -> Result<ColumnOverflow, S::Error> {
        // The last row; whether the caller wants more no longer matters.
        let _flow = self.flush()?;
        Ok(self.overflow)
    }
}

/// Fills the anchor value of vertical merges into the rows below it.
///
/// Registers merge a risk's cells over the rows of its several controls;
/// only the top cell holds the value, but every row belongs to that risk.
struct FillDown {
    /// Vertical merges not yet reached, sorted so `pop` yields the next.
    pending: Vec<Merge>,
    /// Merges whose anchor row was seen, with the anchor value.
    active: Vec<(Merge, Cell)>,
}

impl FillDown {
    fn new(merges: &[Merge], max_columns: usize) -> Self {
        let mut pending: Vec<Merge> = merges
            .iter()
            .filter(|m| m.last_row > m.first_row && m.first_col < max_columns)
            .copied()
            .collect();
        pending.sort_by_key(|merge| std::cmp::Reverse(merge.first_row));
        FillDown {
            pending,
            active: Vec::new(),
        }
    }

    fn has_active(&self) -> bool {
        !self.active.is_empty()
    }

    /// Drops merges that end above `row`.
    fn retire(&mut self, row: u32) {
        self.active.retain(|(merge, _)| merge.last_row >= row);
    }

    /// Fills empty anchor-column cells of `row` from active merges.
    fn apply(&self, row: u32, cells: &mut Vec<Cell>) {
        for (merge, value) in &self.active {
            if merge.first_row < row && row <= merge.last_row {
                if cells.len() <= merge.first_col {
                    cells.resize(merge.first_col + 1, Cell::Empty);
                }
                if cells[merge.first_col] == Cell::Empty {
                    cells[merge.first_col] = value.clone();
                }
            }
        }
    }

    /// Starts the merges anchored in `row`, remembering their value.
    fn activate(&mut self, row: u32, cells: &[Cell]) {
        while let Some(merge) = self.pending.last().copied() {
            if merge.first_row > row {
                break;
            }
            self.pending.pop();
            // A merge whose anchor row was absent has nothing to fill.
            if merge.first_row == row
                && let Some(value) = cells.get(merge.first_col)
                && *value != Cell::Empty
            {
                self.active.push((merge, value.clone()));
            }
        }
    }
}

/// Serial values Excel can show as dates (0 through 9999-12-31).
const EXCEL_SERIAL_RANGE: std::ops::Range<f64> = 0.0..2_958_466.0;

fn convert_datetime(value: &calamine::ExcelDateTime) -> Cell {
    let serial = value.as_f64();
    // chrono panics on durations beyond its range, so only serials Excel
    // itself could display are converted; anything else stays a number.
    if value.is_datetime()
        && EXCEL_SERIAL_RANGE.contains(&serial)
        && let Some(datetime) = value.as_datetime()
    {
        Cell::DateTime(datetime)
    } else {
        Cell::Number(serial)
    }
}

/// ISO date/time strings (ODS stores dates this way).
fn convert_iso(text: &str) -> Cell {
    let text = text.trim();
    if let Ok(datetime) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        return Cell::DateTime(datetime);
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Cell::DateTime(date.and_time(chrono::NaiveTime::MIN));
    }
    Cell::Text(text.to_owned())
}

fn convert_text(text: &str, max_chars: usize) -> Cell {
    if text.is_empty() {
        return Cell::Empty;
    }
    limit_text(text, max_chars).unwrap_or_else(|| Cell::Text(text.to_owned()))
}

fn convert_ref(value: &DataRef<'_>, max_chars: usize) -> Cell {
    match value {
        DataRef::Empty => Cell::Empty,
        DataRef::Int(n) => Cell::Number(*n as f64),
        DataRef::Float(n) => Cell::Number(*n),
        DataRef::String(text) => convert_text(text, max_chars),
        DataRef::SharedString(text) => convert_text(text, max_chars),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(datetime) => convert_datetime(datetime),
        DataRef::DateTimeIso(text) => convert_iso(text),
        DataRef::DurationIso(text) => convert_text(text, max_chars),
        DataRef::Error(error) => Cell::Error(error.to_string()),
    }
}

fn convert_data(value: &Data, max_chars: usize) -> Cell {
    match value {
        Data::Empty => Cell::Empty,
        Data::Int(n) => Cell::Number(*n as f64),
        Data::Float(n) => Cell::Number(*n),
        Data::String(text) => convert_text(text, max_chars),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(datetime) => convert_datetime(datetime),
        Data::DateTimeIso(text) => convert_iso(text),
        Data::DurationIso(text) => convert_text(text, max_chars),
        Data::Error(error) => Cell::Error(error.to_string()),
    }
}

#[cfg(test)]
pub(super) mod tests_support {
    use super::*;

    struct VecSink(Vec<Row>);

    impl RowSink for VecSink {
        type Error = ReadError;
        fn push(&mut self, row: Row) -> Result<ControlFlow<()>, ReadError> {
            self.0.push(row);
            Ok(ControlFlow::Continue(()))
        }
    }

    /// Runs cells (0-based row, column, value) through [`RowStream`].
    pub(in crate::client) fn collect_rows(
        merges: &[Merge],
        cells: &[(u32, u32, Cell)],
    ) -> Vec<Row> {
        let mut sink = VecSink(Vec::new());
        let mut stream = RowStream::new(&mut sink, &ReadOptions::default(), merges);
        for (row, col, value) in cells {
            let flow = stream.cell(*row, *col, || value.clone()).unwrap();
            assert!(flow.is_continue());
        }
        stream.finish().unwrap();
        sink.0
    }
}
