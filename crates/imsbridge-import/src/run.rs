use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use chrono::Utc;
use imsbridge_connector_spreadsheet::{
    Header, Location, MappedRow, PlanError, ReadError, ReadOptions, Row, SAMPLE_ROWS, SheetMapper,
    SheetSource, SpreadsheetFile, cell_text,
};
use imsbridge_mappings::{Mappings, Profile};
use imsbridge_model::RecordKind;
use imsbridge_store::{ImportRunStart, ImportRunSummary, ImportTx, Store, UpsertOutcome};

use crate::rejects::RejectsFile;
use crate::{ImportError, ImportReport, Warning, register_files};

/// At most this many warnings and rejects are listed in the report; the rejects file has all.
const REPORT_LIMIT: usize = 1000;

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub kind: Option<RecordKind>,
    /// The system name; defaults to each file's name.
    pub system: Option<String>,
    pub profile: Profile,
    pub sheet: Option<String>,
    /// The standard bare clause numbers belong to.
    pub standard: Option<imsbridge_model::StandardId>,
    pub dry_run: bool,
    /// Where the rejects CSV goes (the store's folder).
    pub rejects_dir: PathBuf,
    pub read: ReadOptions,
}

impl ImportOptions {
    pub fn new(profile: Profile, rejects_dir: &Path) -> ImportOptions {
        ImportOptions {
            kind: None,
            system: None,
            profile,
            sheet: None,
            standard: None,
            dry_run: false,
            rejects_dir: rejects_dir.to_path_buf(),
            read: ReadOptions::default(),
        }
    }
}

/// Imports a file, or every register file of a folder, in ONE store transaction: either all
/// valid rows of all files are written, or (on an error) nothing is.
///
/// `progress` is called with the number of rows read since its last call.
pub fn import_path(
    store: &mut Store,
    mappings: &Mappings,
    path: &Path,
    options: &ImportOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportReport, ImportError> {
    let files = register_files(path)?;
    let started = Utc::now();
    let mut run = ImportRun::new(options, started);
    let system = match &options.system {
        Some(s) => s.clone(),
        // A folder holds several systems (one per file); the run names them by the folder.
        None => files
            .iter()
            .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let mut start = ImportRunStart::new(path.display().to_string(), system, "spreadsheet");
    start.kind = options.kind;
    start.dry_run = options.dry_run;
    start.started_at = started;
    let mut tx = store.begin_import(&start)?;
    for file in &files {
        run.import_file(&mut tx, mappings, file, progress)?;
    }
    let rejects_file = run.rejects.finish()?;
    let mut report = run.report;
    report.rejects_file = rejects_file;
    report.dry_run = options.dry_run;
    let summary = ImportRunSummary {
        rejected: report.rejected,
        warnings: run.warning_count,
        rejects_file: report
            .rejects_file
            .as_ref()
            .map(|p| p.display().to_string()),
    };
    if options.dry_run {
        tx.rollback()?;
    } else {
        report.run_id = Some(tx.commit(&summary)?);
    }
    Ok(report)
}

/// The state of one run across its files and sheets.
struct ImportRun<'o> {
    options: &'o ImportOptions,
    imported_at: chrono::DateTime<Utc>,
    report: ImportReport,
    rejects: RejectsFile,
    warning_count: u64,
    /// Record ids (their first 64 bits: a collision among a million ids has a probability
    /// of about 3·10⁻⁸) → where they were first seen, packed as sheet number and row.
    seen: HashMap<u64, (u32, u32)>,
    /// Sheet number → "file.xlsx!Risks", for duplicate messages.
    sheet_names: Vec<String>,
}

impl<'o> ImportRun<'o> {
    fn new(options: &'o ImportOptions, started: chrono::DateTime<Utc>) -> ImportRun<'o> {
        let stamp = started.format("%Y%m%dT%H%M%S%.3fZ");
        let rejects = RejectsFile::new(
            options
                .rejects_dir
                .join(format!("imsbridge.rejects-{stamp}.csv")),
        );
        ImportRun {
            options,
            imported_at: started,
            report: ImportReport::default(),
            rejects,
            warning_count: 0,
            seen: HashMap::new(),
            sheet_names: Vec::new(),
        }
    }

    fn warn(&mut self, location: String, message: String) {
        self.warning_count += 1;
        if self.report.warnings.len() < REPORT_LIMIT {
            self.report.warnings.push(Warning { location, message });
        }
    }

    fn import_file(
        &mut self,
        tx: &mut ImportTx<'_>,
        mappings: &Mappings,
        path: &Path,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), ImportError> {
        let options = self.options;
        let mut file = SpreadsheetFile::open(path, &options.read)?;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let system = options.system.clone().unwrap_or_else(|| file_name.clone());
        let is_csv = file.format() == imsbridge_connector_spreadsheet::Format::Csv;

        let (sheets, explicit) = match &options.sheet {
            Some(wanted) => (vec![file.find_sheet(wanted)?], true),
            None => (file.sheet_names(), false),
        };
        let single = sheets.len() == 1;
        let mut skipped: Vec<String> = Vec::new();
        let mut imported_sheets = 0usize;
        for sheet in sheets {
            if !explicit && options.profile.is_skipped_sheet(&sheet) {
                skipped.push(format!("{sheet} (instructions or lookup sheet)"));
                continue;
            }
            let source = SheetSource {
                file_name: file_name.clone(),
                sheet: if is_csv { None } else { Some(sheet.clone()) },
                system: system.clone(),
                imported_at: self.imported_at,
                standard: options.standard,
            };
            // An explicitly chosen or only sheet must be a register; among several sheets the
            // ones that are not are skipped and said so.
            let must = explicit || single;
            match self.import_sheet(tx, mappings, &mut file, &sheet, source, progress) {
                Ok(()) => imported_sheets += 1,
                Err(SheetError::NotARegister(reason)) if !must => {
                    skipped.push(format!("{sheet} ({reason})"))
                }
                Err(SheetError::NotARegister(reason)) => {
                    return Err(ImportError::NoRegister {
                        path: path.to_path_buf(),
                        message: reason,
                    });
                }
                Err(SheetError::Fatal(e)) => return Err(e),
            }
        }
        if imported_sheets == 0 {
            return Err(ImportError::NoRegister {
                path: path.to_path_buf(),
                message: format!(
                    "no register sheet found: {}; name the sheet with --sheet and the kind with --kind",
                    if skipped.is_empty() {
                        "the workbook has no sheets".to_string()
                    } else {
                        skipped.join("; ")
                    }
                ),
            });
        }
        for s in skipped {
            self.warn(file_name.clone(), format!("sheet skipped: {s}"));
        }
        Ok(())
    }

    /// Reads one sheet on a second thread while this one maps and stores its rows: the two
    /// halves of an import take about the same time, so on two cores this nearly halves it.
    /// The channel is bounded, so memory stays bounded whatever the sheet's size.
    fn import_sheet(
        &mut self,
        tx: &mut ImportTx<'_>,
        mappings: &Mappings,
        file: &mut SpreadsheetFile,
        sheet: &str,
        source: SheetSource,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), SheetError> {
        let options = self.options;
        let profile = &options.profile;
        let label = match &source.sheet {
            Some(s) => format!("{}!{s}", source.file_name),
            None => source.file_name.clone(),
        };
        let sheet_number = u32::try_from(self.sheet_names.len()).unwrap_or(u32::MAX);
        self.sheet_names.push(label.clone());

        let (sender, receiver) = std::sync::mpsc::sync_channel::<Event>(CHANNEL_BATCHES);
        let read_result = std::thread::scope(|scope| {
            let reader = scope.spawn(move || {
                let score = |cells: &[String]| {
                    let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
                    profile.header_score(&refs)
                };
                let mut batch = Vec::with_capacity(BATCH_ROWS);
                let header_sender = sender.clone();
                let mut on_header = |h: &Header| -> Result<(), ReadError> {
                    // A closed channel means the consumer stopped on an error; it reports that.
                    let _ = header_sender.send(Event::Header(h.clone()));
                    Ok(())
                };
                let mut on_row = |row: Row| -> ControlFlow<()> {
                    batch.push(row);
                    if batch.len() >= BATCH_ROWS {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
                        if sender.send(Event::Rows(full)).is_err() {
                            return ControlFlow::Break(());
                        }
                    }
                    ControlFlow::Continue(())
                };
                let result = file.read_table(sheet, &score, &mut on_header, &mut on_row);
                if !batch.is_empty() {
                    let _ = sender.send(Event::Rows(batch));
                }
                result
            });
            let mut consumer = SheetImport {
                run: &mut *self,
                tx: &mut *tx,
                mappings,
                profile,
                kind: options.kind,
                source: &source,
                label: &label,
                sheet_number,
                header: None,
                buffer: Vec::new(),
                mapper: None,
                last_row: None,
            };
            let mut failure = None;
            for event in receiver.iter() {
                let outcome = match event {
                    Event::Header(h) => {
                        consumer.header = Some(h);
                        Ok(())
                    }
                    Event::Rows(rows) => {
                        progress(rows.len() as u64);
                        consumer.rows(rows)
                    }
                };
                if let Err(e) = outcome {
                    failure = Some(e);
                    break;
                }
            }
            // Dropping the receiver makes the reader's next send fail, so it stops early.
            drop(receiver);
            let outcome = match failure {
                Some(e) => Err(e),
                None => consumer.finish(),
            };
            // The reader guards calamine against panics itself; a panic here would be a bug in
            // this crate's callbacks, reported like a corrupt file rather than aborting.
            let read = reader.join().unwrap_or_else(|_| {
                Err(ReadError::Corrupt {
                    location: Location::file(source.file_name.clone()),
                    detail: "the reader stopped unexpectedly".to_string(),
                })
            });
            (read, outcome)
        });
        let (read, outcome) = read_result;
        match read {
            Ok(summary) => {
                outcome?;
                for (location, message) in summary.warnings {
                    self.warn(location.to_string(), message);
                }
                Ok(())
            }
            Err(ReadError::NoHeader { .. }) => Err(SheetError::NotARegister(
                "no header row with known column names in the first rows".to_string(),
            )),
            // A mapping failure is the cause; the reader only stopped because of it.
            Err(_) if outcome.is_err() => outcome,
            Err(e) => Err(SheetError::Fatal(e.into())),
        }
    }
}

const BATCH_ROWS: usize = 256;
const CHANNEL_BATCHES: usize = 16;

enum Event {
    Header(Header),
    Rows(Vec<Row>),
}

/// The consumer side of one sheet's import: plans the mapping from the header and the first
/// rows, then maps, checks and stores each row.
struct SheetImport<'r, 'o, 't, 'm> {
    run: &'r mut ImportRun<'o>,
    tx: &'r mut ImportTx<'t>,
    mappings: &'m Mappings,
    profile: &'m Profile,
    kind: Option<RecordKind>,
    source: &'r SheetSource,
    label: &'r str,
    sheet_number: u32,
    header: Option<Header>,
    /// The first rows, held until the mapping is planned from them (scales, date order).
    buffer: Vec<Row>,
    mapper: Option<SheetMapper<'m>>,
    /// The last row that held anything: a gap before the next one is a run of blank rows,
    /// reported as one warning (the reader passes only rows with content).
    last_row: Option<u32>,
}

impl SheetImport<'_, '_, '_, '_> {
    fn rows(&mut self, rows: Vec<Row>) -> Result<(), SheetError> {
        if self.mapper.is_none() {
            self.buffer.extend(rows);
            if self.buffer.len() >= SAMPLE_ROWS {
                self.plan()?;
            }
            return Ok(());
        }
        for row in rows {
            self.handle(&row)?;
        }
        Ok(())
    }

    fn plan(&mut self) -> Result<(), SheetError> {
        let Some(header) = self.header.as_ref() else {
            return Err(SheetError::NotARegister("no header row".to_string()));
        };
        let mapper = SheetMapper::plan(
            self.mappings,
            self.profile,
            self.source.clone(),
            header,
            self.kind,
            &self.buffer,
        )
        .map_err(|e| match e {
            PlanError::UnknownKind { .. } if self.kind.is_none() => {
                SheetError::NotARegister(e.to_string())
            }
            other => SheetError::Fatal(other.into()),
        })?;
        tracing::info!(sheet = %self.label, kind = %mapper.kind(), "importing sheet");
        self.run
            .report
            .sheets
            .insert(self.label.to_string(), mapper.kind());
        for w in mapper.warnings() {
            self.run.warn(w.location.to_string(), w.message.clone());
        }
        self.mapper = Some(mapper);
        for row in std::mem::take(&mut self.buffer) {
            self.handle(&row)?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<(), SheetError> {
        if self.mapper.is_none() {
            self.plan()?;
        }
        Ok(())
    }

    /// Warns about the blank rows between the previous row with content and this one. Blank
    /// rows after the last record are trailing formatting, not gaps, and are not reported.
    fn note_gap(&mut self, row: u32) {
        let previous = self.last_row.or(self.header.as_ref().map(|h| h.last_row));
        self.last_row = Some(row);
        let Some(previous) = previous else { return };
        if row <= previous + 1 {
            return;
        }
        let (first, last) = (previous + 1, row - 1);
        let Some(mapper) = self.mapper.as_ref() else {
            return;
        };
        let message = if first == last {
            "blank row skipped".to_string()
        } else {
            format!("blank rows {first}–{last} skipped")
        };
        let location = mapper.row_location(first).to_string();
        self.run.warn(location, message);
    }

    fn handle(&mut self, row: &Row) -> Result<(), SheetError> {
        let Some(mapper) = self.mapper.as_ref() else {
            return Ok(());
        };
        let mapped = mapper.map_row(row);
        if !matches!(mapped, MappedRow::Blank) {
            self.note_gap(row.number);
        }
        match mapped {
            // Cells holding only spaces: part of the next gap.
            MappedRow::Blank => Ok(()),
            MappedRow::Rejected { reason, warnings } => {
                for w in warnings {
                    self.run.warn(w.location.to_string(), w.message);
                }
                self.reject(row, reason.location.to_string(), reason.message)
            }
            MappedRow::Record { record, warnings } => {
                for w in warnings {
                    self.run.warn(w.location.to_string(), w.message);
                }
                let mut key_bytes = [0u8; 8];
                key_bytes.copy_from_slice(&record.id.0.as_bytes()[..8]);
                let key = u64::from_le_bytes(key_bytes);
                if let Some((sheet, first_row)) = self.run.seen.get(&key).copied() {
                    let first = self
                        .run
                        .sheet_names
                        .get(sheet as usize)
                        .cloned()
                        .unwrap_or_default();
                    let message = format!(
                        "duplicate id {:?}: first seen at {first}!{first_row}; this row was not imported — give each row its own id",
                        record.provenance.external_id
                    );
                    return self.reject(row, record.provenance.location.clone(), message);
                }
                self.run.seen.insert(key, (self.sheet_number, row.number));
                let kind = record.kind();
                match self
                    .tx
                    .upsert(&record)
                    .map_err(|e| SheetError::Fatal(e.into()))?
                {
                    UpsertOutcome::Inserted => self.run.report.imported += 1,
                    UpsertOutcome::Updated => self.run.report.updated += 1,
                    UpsertOutcome::Unchanged => self.run.report.unchanged += 1,
                }
                *self.run.report.records.entry(kind).or_default() += 1;
                Ok(())
            }
        }
    }

    fn reject(&mut self, row: &Row, location: String, message: String) -> Result<(), SheetError> {
        self.run.report.rejected += 1;
        if self.run.report.rejects.len() < REPORT_LIMIT {
            self.run.report.rejects.push(Warning {
                location: location.clone(),
                message: message.clone(),
            });
        }
        if !self.run.options.dry_run {
            let header: Vec<String> = self
                .header
                .as_ref()
                .map(|h| h.columns.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default();
            let values: Vec<String> = row.cells.iter().map(cell_text).collect();
            self.run
                .rejects
                .write(&header, &location, &message, &values)
                .map_err(SheetError::Fatal)?;
        }
        Ok(())
    }
}

enum SheetError {
    /// The sheet is not a register (no header, unknown kind): skipped among several sheets.
    NotARegister(String),
    Fatal(ImportError),
}
