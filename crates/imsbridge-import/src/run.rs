use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use imsbridge_connector_spreadsheet::{
    Header, Issue, Location, MappedRow, PlanError, ReadError, ReadOptions, Row, SAMPLE_ROWS,
    SheetMapper, SheetSource, SourceKey, SpreadsheetFile, cell_text,
};
use imsbridge_mappings::{Mappings, Profile};
use imsbridge_model::RecordKind;
use imsbridge_store::{
    EncodedRecord, ImportRunStart, ImportRunSummary, ImportTx, KnownSources, SourceCollector,
    Store, UpsertOutcome,
};

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
    /// How OSCAL documents are read, when a configured OSCAL system says more than `kind`
    /// and `standard` can (several kinds, limits); `None`: from `kind` and `standard`.
    pub oscal: Option<imsbridge_connector_oscal::ReadOptions>,
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
            oscal: None,
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
        if let Err(e) = run.import_file(&mut tx, mappings, file, progress) {
            // Nothing of this run is written, so no rejects file may suggest otherwise.
            run.rejects.discard();
            return Err(e);
        }
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
        match tx.commit(&summary) {
            Ok(id) => report.run_id = Some(id),
            Err(e) => {
                run.rejects.discard();
                return Err(e.into());
            }
        }
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
    /// of about 3·10⁻⁸) → where they were first seen (see [`SeenAt`]).
    seen: HashMap<[u32; 2], SeenAt>,
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
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let system = options.system.clone().unwrap_or_else(|| file_name.clone());
        // OSCAL documents are told apart by their first bytes, not their extension: a
        // `.json` export of a spreadsheet tool is no OSCAL document.
        if crate::oscal::is_oscal(path)? {
            return self.import_oscal_file(tx, mappings, path, &file_name, &system, progress);
        }
        let mut file = SpreadsheetFile::open(path, &options.read)?;
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

    /// Imports an OSCAL catalog, profile, POA&M or assessment results: the document is read
    /// and mapped whole by the OSCAL connector (it holds no more than the typed document),
    /// then stored in this run's transaction like any sheet's records.
    fn import_oscal_file(
        &mut self,
        tx: &mut ImportTx<'_>,
        mappings: &Mappings,
        path: &Path,
        file_name: &str,
        system: &str,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), ImportError> {
        let options = self.options;
        let imported = crate::oscal::read(path, system, options, self.imported_at, mappings)?;
        self.report.sheets.extend(
            imported
                .records
                .first()
                .map(|r| (format!("{file_name} ({})", imported.model), r.kind())),
        );
        for record in &imported.records {
            let outcome = tx.upsert(record)?;
            let report = &mut self.report;
            match outcome {
                UpsertOutcome::Inserted => report.imported += 1,
                UpsertOutcome::Updated => report.updated += 1,
                UpsertOutcome::Unchanged => report.unchanged += 1,
            }
            *report.records.entry(record.kind()).or_default() += 1;
            progress(1);
        }
        for reject in imported.rejects {
            self.report.rejected += 1;
            if self.report.rejects.len() < REPORT_LIMIT {
                self.report.rejects.push(Warning {
                    location: reject.location.clone(),
                    message: reject.message.clone(),
                });
            }
            if !options.dry_run {
                // The element as OSCAL JSON: fixed, it can be imported on its own again.
                self.rejects.write(
                    &["element (OSCAL JSON)".to_string()],
                    &reject.location,
                    &reject.message,
                    &[reject.raw],
                )?;
            }
        }
        for warning in imported.warnings {
            self.warn(warning.location, warning.message);
        }
        Ok(())
    }

    /// Imports one sheet through three stages on their own threads — read, map, store —
    /// connected by bounded channels, so the stages overlap on two cores and memory stays
    /// bounded whatever the sheet's size.
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
        let (mapped_sender, mapped_receiver) =
            std::sync::mpsc::sync_channel::<Mapped<'_>>(CHANNEL_BATCHES);
        let kind = options.kind;
        let source_ref = &source;
        // The duplicate check runs in the mapping stage, where the row's cells still are (for
        // the rejects file); the map of ids seen spans every sheet and file of the run.
        let mut seen = std::mem::take(&mut self.seen);
        let seen_ref = &mut seen;
        let sheet_names = std::mem::take(&mut self.sheet_names);
        let sheet_names_ref = &sheet_names;
        let read_result = std::thread::scope(|scope| {
            // Named, so that logs and profiles say which stage is which.
            let reader = std::thread::Builder::new()
                .name("imsbridge-read".into())
                .spawn_scoped(scope, move || {
                    let score = |cells: &[String]| {
                        let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
                        profile.header_score(&refs)
                    };
                    let mut batch = Vec::with_capacity(BATCH_ROWS);
                    let header_sender = sender.clone();
                    let mut on_header = |h: &Header| -> Result<(), ReadError> {
                        // A closed channel means a later stage stopped on an error; it reports that.
                        let _ = header_sender.send(Event::Header(h.clone()));
                        Ok(())
                    };
                    let mut on_row = |row: Row| -> ControlFlow<()> {
                        batch.push(row);
                        if batch.len() >= BATCH_ROWS {
                            let full =
                                std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
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
            let no_thread = |e: std::io::Error| ReadError::Io {
                file: source_ref.file_name.clone(),
                source: e,
            };
            let reader = match reader {
                Ok(handle) => handle,
                Err(e) => return (Err(no_thread(e)), Ok(())),
            };
            let mapper = std::thread::Builder::new()
                .name("imsbridge-map".into())
                .spawn_scoped(scope, move || {
                    let mut stage = MapStage {
                        mappings,
                        profile,
                        kind,
                        source: source_ref,
                        header: None,
                        buffer: Vec::new(),
                        mapper: None,
                        known: KnownSources::default(),
                        out: mapped_sender,
                        seen: seen_ref,
                        sheet_names: sheet_names_ref,
                        sheet_number,
                    };
                    for event in receiver.iter() {
                        let going_on = match event {
                            Event::Header(h) => {
                                stage.header = Some(h);
                                true
                            }
                            Event::Rows(rows) => stage.rows(rows),
                        };
                        if !going_on {
                            // Dropping the receiver makes the reader's next send fail: it stops.
                            return;
                        }
                    }
                    stage.finish();
                });
            let mapper = match mapper {
                Ok(handle) => handle,
                // The stage's closure, and with it the reader's receiver, is gone: the reader
                // stops at its next send.
                Err(e) => {
                    let _ = reader.join();
                    return (Err(no_thread(e)), Ok(()));
                }
            };
            let mut store = StoreStage {
                run: &mut *self,
                tx: &mut *tx,
                source: source_ref,
                label: &label,
                header: None,
                last_row: None,
                mapper: None,
                kind: None,
                sources: SourceCollector::new(source_ref.system.clone(), label.clone()),
            };
            let mut failure = None;
            for mapped in mapped_receiver.iter() {
                let outcome = match mapped {
                    Mapped::Planned {
                        header,
                        mapper,
                        known,
                    } => store.planned(header, mapper, &known),
                    Mapped::Rows(rows) => {
                        progress(rows.len() as u64);
                        rows.into_iter().try_for_each(|row| store.handle(row))
                    }
                    Mapped::Failed(e) => Err(e),
                };
                if let Err(e) = outcome {
                    failure = Some(e);
                    break;
                }
            }
            // Dropping the receiver stops the mapping stage, which in turn stops the reader.
            drop(mapped_receiver);
            if failure.is_none() {
                failure = store.save_known_sources().err();
            }
            let outcome = match failure {
                Some(e) => Err(e),
                None => Ok(()),
            };
            // The reader guards calamine against panics itself; a panic in a stage would be a
            // bug in this crate, reported like a corrupt file rather than aborting the process.
            let stopped = || {
                Err(ReadError::Corrupt {
                    location: Location::file(source_ref.file_name.clone()),
                    detail: "the import stopped unexpectedly".to_string(),
                })
            };
            let mapped = mapper.join();
            let read = reader.join().unwrap_or_else(|_| stopped());
            let read = if mapped.is_err() { stopped() } else { read };
            (read, outcome)
        });
        self.seen = seen;
        self.sheet_names = sheet_names;
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
const CHANNEL_BATCHES: usize = 4;

/// From the reader to the mapping stage.
enum Event {
    Header(Header),
    Rows(Vec<Row>),
}

/// From the mapping stage to the storing stage.
enum Mapped<'m> {
    /// The sheet's plan: sent once, before any row. The storing stage answers with the
    /// sheet's known source rows, which the mapping stage waits for.
    Planned {
        header: Header,
        mapper: Arc<SheetMapper<'m>>,
        known: std::sync::mpsc::SyncSender<KnownSources>,
    },
    Rows(Vec<MappedLine>),
    /// The sheet cannot be mapped (not a register, or a plan error); nothing follows.
    Failed(SheetError),
}

/// One row as the mapping stage passes it on, with its number (for gaps).
struct MappedLine {
    number: u32,
    line: Line,
}

enum Line {
    /// Cells holding only spaces.
    Blank,
    /// The row's record, serialised for the store here rather than in the storing stage,
    /// which is the busiest.
    Record {
        record: EncodedRecord,
        warnings: Vec<Issue>,
    },
    /// With the row's cells as text, for the rejects file.
    Rejected {
        reason: Issue,
        warnings: Vec<Issue>,
        cells: Vec<String>,
    },
    /// A row the last import of the sheet stored, by its source hash: most likely unchanged,
    /// so not mapped. The storing stage confirms it, or maps it after all.
    Known { key: SourceKey, row: Row },
}

/// The mapping stage of one sheet, on its own thread: plans the mapping from the header and
/// the first rows (scales, date order), then maps rows while the storing stage writes the
/// previous ones — on two cores the mapping and the SQLite writes overlap.
struct MapStage<'m, 's> {
    mappings: &'m Mappings,
    profile: &'m Profile,
    kind: Option<RecordKind>,
    source: &'s SheetSource,
    header: Option<Header>,
    /// The first rows, held until the mapping is planned from them.
    buffer: Vec<Row>,
    mapper: Option<Arc<SheetMapper<'m>>>,
    /// The source rows the sheet's last import stored, from the storing stage.
    known: KnownSources,
    out: std::sync::mpsc::SyncSender<Mapped<'m>>,
    /// Record ids (their first 64 bits) seen in this run → where.
    seen: &'s mut HashMap<[u32; 2], SeenAt>,
    /// Sheet number → "file.xlsx!Risks", for duplicate messages.
    sheet_names: &'s [String],
    sheet_number: u32,
}

impl MapStage<'_, '_> {
    /// Returns false when the stage must stop (a plan error, or the storing stage is gone).
    fn rows(&mut self, rows: Vec<Row>) -> bool {
        if self.mapper.is_none() {
            self.buffer.extend(rows);
            if self.buffer.len() < SAMPLE_ROWS {
                return true;
            }
            let buffered = std::mem::take(&mut self.buffer);
            return self.plan(&buffered) && self.map(buffered);
        }
        self.map(rows)
    }

    fn finish(mut self) {
        if self.mapper.is_none() {
            let buffered = std::mem::take(&mut self.buffer);
            if self.plan(&buffered) {
                self.map(buffered);
            }
        }
    }

    fn plan(&mut self, sample: &[Row]) -> bool {
        let Some(header) = self.header.clone() else {
            let _ = self.out.send(Mapped::Failed(SheetError::NotARegister(
                "no header row".to_string(),
            )));
            return false;
        };
        match SheetMapper::plan(
            self.mappings,
            self.profile,
            self.source.clone(),
            &header,
            self.kind,
            sample,
        ) {
            Ok(mapper) => {
                let mapper = Arc::new(mapper);
                let (known, reply) = std::sync::mpsc::sync_channel(1);
                let planned = Mapped::Planned {
                    header,
                    mapper: Arc::clone(&mapper),
                    known,
                };
                self.mapper = Some(mapper);
                if self.out.send(planned).is_err() {
                    return false;
                }
                // No answer means the storing stage stopped; the next send says so.
                self.known = reply.recv().unwrap_or_default();
                true
            }
            Err(e) => {
                let error = match e {
                    PlanError::UnknownKind { .. } if self.kind.is_none() => {
                        SheetError::NotARegister(e.to_string())
                    }
                    other => SheetError::Fatal(other.into()),
                };
                let _ = self.out.send(Mapped::Failed(error));
                false
            }
        }
    }

    fn map(&mut self, rows: Vec<Row>) -> bool {
        // Taken out for the loop, so that the duplicate check may update the stage.
        let Some(mapper) = self.mapper.take() else {
            return false;
        };
        let mut lines = Vec::with_capacity(rows.len());
        for row in rows {
            let number = row.number;
            let key = mapper.source_key(&row);
            // A known row still takes part in the duplicate check; a duplicate is mapped, to
            // be rejected with its cells like any other.
            if let Some(key) = key
                && self.known.contains(&key.hash)
                && self.first_seen(key.id, number).is_none()
            {
                lines.push(MappedLine {
                    number,
                    line: Line::Known { key, row },
                });
                continue;
            }
            let mut mapped = mapper.map_row(&row);
            if let MappedRow::Record { record, warnings } = mapped {
                mapped = self.check_duplicate(&mapper, record, warnings, number);
            }
            let line = match to_line(mapped, key, &row) {
                Ok(line) => line,
                Err(e) => {
                    let _ = self.out.send(Mapped::Failed(SheetError::Fatal(e.into())));
                    return false;
                }
            };
            lines.push(MappedLine { number, line });
        }
        self.mapper = Some(mapper);
        self.out.send(Mapped::Rows(lines)).is_ok()
    }

    /// Where an id was first seen in this run, if it was; otherwise it is now, at `row`.
    fn first_seen(&mut self, id: imsbridge_model::RecordId, row: u32) -> Option<SeenAt> {
        // The id's first 64 bits, as two u32 so that an entry needs no 8-byte alignment.
        let (high, _) = id.0.as_u64_pair();
        let key = [(high >> 32) as u32, high as u32];
        match self.seen.get(&key).copied() {
            Some(seen) => Some(seen),
            None => {
                self.seen.insert(key, SeenAt::pack(self.sheet_number, row));
                None
            }
        }
    }

    /// A second row with the same id in one run is rejected, not merged into the first: which
    /// of the two is right is for a person to say.
    fn check_duplicate(
        &mut self,
        mapper: &SheetMapper<'_>,
        record: Box<imsbridge_model::Record>,
        warnings: Vec<imsbridge_connector_spreadsheet::Issue>,
        row: u32,
    ) -> MappedRow {
        match self.first_seen(record.id, row) {
            Some(seen) => {
                let first = match seen.unpack() {
                    Some((sheet, first_row)) => {
                        let name = self
                            .sheet_names
                            .get(sheet as usize)
                            .cloned()
                            .unwrap_or_default();
                        format!("{name}!{first_row}")
                    }
                    None => "an earlier row of this import".to_string(),
                };
                let message = format!(
                    "duplicate id {:?}: first seen at {first}; this row was not imported — give each row its own id",
                    record.provenance.external_id
                );
                let location = mapper.id_location(row);
                MappedRow::Rejected {
                    reason: imsbridge_connector_spreadsheet::Issue { location, message },
                    warnings,
                }
            }
            None => MappedRow::Record { record, warnings },
        }
    }
}

/// Turns a mapped row into what the storing stage takes. A record gets the row's source hash
/// only when the row raised no warning: such a row must be mapped, and warned about, on
/// every import.
fn to_line(
    mapped: MappedRow,
    key: Option<SourceKey>,
    row: &Row,
) -> Result<Line, imsbridge_store::StoreError> {
    Ok(match mapped {
        MappedRow::Blank => Line::Blank,
        MappedRow::Rejected { reason, warnings } => Line::Rejected {
            reason,
            warnings,
            cells: row.cells.iter().map(cell_text).collect(),
        },
        MappedRow::Record { record, warnings } => {
            let source = key
                .filter(|k| warnings.is_empty() && k.id == record.id)
                .map(|k| k.hash);
            Line::Record {
                record: EncodedRecord::new(record, source)?,
                warnings,
            }
        }
    })
}

/// Where an id was first seen, in 32 bits: sheet number (8 bits) and row (24 bits). A map entry
/// is then 12 bytes instead of 16, which at a million rows is the difference between staying
/// within the import's memory budget or not. Sheets past the 255th or rows past 16,777,214
/// are remembered as "earlier" without the place.
#[derive(Debug, Clone, Copy)]
struct SeenAt(u32);

impl SeenAt {
    const UNKNOWN: u32 = u32::MAX;

    fn pack(sheet: u32, row: u32) -> SeenAt {
        if sheet < 0xFF && row < 0x00FF_FFFF {
            SeenAt(sheet << 24 | row)
        } else {
            SeenAt(Self::UNKNOWN)
        }
    }

    fn unpack(self) -> Option<(u32, u32)> {
        (self.0 != Self::UNKNOWN).then_some((self.0 >> 24, self.0 & 0x00FF_FFFF))
    }
}

/// The storing stage of one sheet: checks ids for duplicates, writes records, reports
/// rejected rows, warnings and gaps.
struct StoreStage<'r, 'o, 't, 'm> {
    run: &'r mut ImportRun<'o>,
    tx: &'r mut ImportTx<'t>,
    source: &'r SheetSource,
    label: &'r str,
    header: Option<Header>,
    /// The last row that held anything: a gap before the next one is a run of blank rows,
    /// reported as one warning (the reader passes only rows with content).
    last_row: Option<u32>,
    /// The sheet's plan, shared with the mapping stage: a known row that turns out not to be
    /// unchanged is mapped here.
    mapper: Option<Arc<SheetMapper<'m>>>,
    kind: Option<RecordKind>,
    /// The source hashes of the rows stored (or confirmed) so far, for the next import.
    sources: SourceCollector,
}

impl<'m> StoreStage<'_, '_, '_, 'm> {
    /// Takes the sheet's plan and answers the mapping stage with the source rows the last
    /// import of the sheet stored.
    fn planned(
        &mut self,
        header: Header,
        mapper: Arc<SheetMapper<'m>>,
        reply: &std::sync::mpsc::SyncSender<KnownSources>,
    ) -> Result<(), SheetError> {
        let kind = mapper.kind();
        tracing::info!(sheet = %self.label, %kind, "importing sheet");
        self.run.report.sheets.insert(self.label.to_string(), kind);
        for w in mapper.warnings() {
            self.run.warn(w.location.to_string(), w.message.clone());
        }
        self.header = Some(header);
        self.kind = Some(kind);
        self.mapper = Some(mapper);
        let known = self
            .tx
            .known_sources(&self.source.system, self.label)
            .map_err(|e| SheetError::Fatal(e.into()))?;
        tracing::debug!(sheet = %self.label, rows = known.len(), "known source rows");
        // A mapping stage that stopped meanwhile reports why itself.
        let _ = reply.send(known);
        Ok(())
    }

    /// Keeps the source hashes of this sheet's stored rows for its next import.
    fn save_known_sources(&mut self) -> Result<(), SheetError> {
        if self.mapper.is_none() {
            // Never planned: not a register, nothing stored.
            return Ok(());
        }
        self.tx
            .save_known_sources(&mut self.sources)
            .map_err(|e| SheetError::Fatal(e.into()))
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
        let message = if first == last {
            "blank row skipped".to_string()
        } else {
            format!("blank rows {first}–{last} skipped")
        };
        let location = Location {
            file: self.source.file_name.clone(),
            sheet: self.source.sheet.clone(),
            row: first,
            column: None,
        };
        self.run.warn(location.to_string(), message);
    }

    fn handle(&mut self, line: MappedLine) -> Result<(), SheetError> {
        let MappedLine { number, line } = line;
        if !matches!(line, Line::Blank) {
            self.note_gap(number);
        }
        match line {
            Line::Known { key, row } => {
                if self
                    .tx
                    .confirm_unchanged(key.id, &key.hash)
                    .map_err(|e| SheetError::Fatal(e.into()))?
                {
                    self.count(UpsertOutcome::Unchanged, self.kind);
                    self.run.report.recognised += 1;
                    self.tx
                        .keep_source(&mut self.sources, &key.hash)
                        .map_err(|e| SheetError::Fatal(e.into()))?;
                    return Ok(());
                }
                // The stored record is not this row's after all (written since from another
                // source, or a fingerprint shared by two rows): map the row as usual. Its id
                // has been through the duplicate check already.
                let Some(mapper) = self.mapper.clone() else {
                    return Ok(());
                };
                let mapped = mapper.map_row(&row);
                let line =
                    to_line(mapped, Some(key), &row).map_err(|e| SheetError::Fatal(e.into()))?;
                self.settle(line)
            }
            other => self.settle(other),
        }
    }

    /// Writes what a mapped line says: its warnings, then the record or the reject. A line
    /// still `Known` here was already settled by the caller.
    fn settle(&mut self, line: Line) -> Result<(), SheetError> {
        match line {
            // Cells holding only spaces: part of the next gap.
            Line::Blank | Line::Known { .. } => Ok(()),
            Line::Rejected {
                reason,
                warnings,
                cells,
            } => {
                for w in warnings {
                    self.run.warn(w.location.to_string(), w.message);
                }
                self.reject(cells, reason.location.to_string(), reason.message)
            }
            Line::Record { record, warnings } => {
                for w in warnings {
                    self.run.warn(w.location.to_string(), w.message);
                }
                self.store(&record)
            }
        }
    }

    fn store(&mut self, record: &EncodedRecord) -> Result<(), SheetError> {
        let outcome = self
            .tx
            .upsert_encoded(record)
            .map_err(|e| SheetError::Fatal(e.into()))?;
        if let Some(hash) = record.source_hash() {
            self.tx
                .keep_source(&mut self.sources, hash)
                .map_err(|e| SheetError::Fatal(e.into()))?;
        }
        self.count(outcome, Some(record.record().kind()));
        Ok(())
    }

    fn count(&mut self, outcome: UpsertOutcome, kind: Option<RecordKind>) {
        let report = &mut self.run.report;
        match outcome {
            UpsertOutcome::Inserted => report.imported += 1,
            UpsertOutcome::Updated => report.updated += 1,
            UpsertOutcome::Unchanged => report.unchanged += 1,
        }
        if let Some(kind) = kind {
            *report.records.entry(kind).or_default() += 1;
        }
    }

    fn reject(
        &mut self,
        values: Vec<String>,
        location: String,
        message: String,
    ) -> Result<(), SheetError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use imsbridge_store::RecordFilter;

    const HEADER: &str = "Risk ID,Risk Title,Likelihood,Impact,Treatment\n";

    fn setup() -> (tempfile::TempDir, Mappings, Store) {
        let dir = tempfile::tempdir().unwrap();
        let mappings = Mappings::embedded().unwrap();
        let store = Store::open(dir.path().join("imsbridge.db")).unwrap();
        (dir, mappings, store)
    }

    fn options(mappings: &Mappings, dir: &Path) -> ImportOptions {
        ImportOptions::new(mappings.default_profile().clone(), dir)
    }

    #[test]
    fn a_folder_with_one_damaged_file_writes_nothing_at_all() {
        let (dir, mappings, mut store) = setup();
        let input = dir.path().join("in");
        std::fs::create_dir(&input).unwrap();
        std::fs::write(
            input.join("a-good.csv"),
            // A rejected row (empty id): its rejects file must not outlive the failed run.
            format!("{HEADER}R-1,Outage,3,2,Mitigate\n,No id,1,1,Accept\n"),
        )
        .unwrap();
        std::fs::write(input.join("b-bad.xlsx"), "this is not a workbook").unwrap();
        let err = import_path(
            &mut store,
            &mappings,
            &input,
            &options(&mappings, dir.path()),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(err.to_string().contains("b-bad.xlsx"), "{err}");
        assert_eq!(
            store.record_count().unwrap(),
            0,
            "the good file's row was rolled back too"
        );
        assert!(store.import_runs(10).unwrap().is_empty());
        let leftovers = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains("rejects"))
            .count();
        assert_eq!(leftovers, 0, "no rejects file for a run that wrote nothing");
    }

    #[test]
    fn rejected_rows_go_to_a_rejects_file_with_their_cells_and_the_rest_imports() {
        let (dir, mappings, mut store) = setup();
        let file = dir.path().join("risks.csv");
        // Enough good rows for the 1–5 scale to be recognised, then three bad ones.
        let rows = "R-1,Outage,3,2,Mitigate\nR-3,Fire,1,5,Avoid\nR-4,Theft,2,4,Accept\nR-5,Strike,4,1,Accept\n\
                    R-2,Flood,9,2,Mitigate\nR-1,Outage again,1,1,Accept\n,No id,1,1,Accept\n";
        std::fs::write(&file, format!("{HEADER}{rows}")).unwrap();
        let report = import_path(
            &mut store,
            &mappings,
            &file,
            &options(&mappings, dir.path()),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!((report.imported, report.rejected), (4, 3));
        let locations: Vec<&str> = report.rejects.iter().map(|r| r.location.as_str()).collect();
        assert_eq!(locations, ["risks.csv!C6", "risks.csv!A7", "risks.csv!A8"]);
        assert!(
            report.rejects[1].message.contains("duplicate")
                && report.rejects[1].message.contains("risks.csv!2")
        );
        let rejects = std::fs::read_to_string(report.rejects_file.as_ref().unwrap()).unwrap();
        let lines: Vec<&str> = rejects.lines().collect();
        assert_eq!(
            lines[0],
            "location,reason,Risk ID,Risk Title,Likelihood,Impact,Treatment"
        );
        assert!(
            lines[1].starts_with("risks.csv!C6,") && lines[1].ends_with(",R-2,Flood,9,2,Mitigate"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].ends_with(",R-1,Outage again,1,1,Accept"),
            "{}",
            lines[2]
        );
        assert_eq!(store.record_count().unwrap(), 4);
        let run = &store.import_runs(1).unwrap()[0];
        assert_eq!(run.rejected, 3);
    }

    #[test]
    fn a_dry_run_reports_like_a_real_run_and_writes_nothing() {
        let (dir, mappings, mut store) = setup();
        let file = dir.path().join("risks.csv");
        std::fs::write(
            &file,
            format!("{HEADER}R-1,Outage,3,2,Mitigate\nR-2,Flood,3,2,Defer\n"),
        )
        .unwrap();
        let mut opts = options(&mappings, dir.path());
        opts.dry_run = true;
        let report = import_path(&mut store, &mappings, &file, &opts, &mut |_| {}).unwrap();
        assert_eq!(
            (
                report.imported,
                report.rejected,
                report.rejects_file.is_none()
            ),
            (1, 1, true)
        );
        assert_eq!(store.records(&RecordFilter::default()).unwrap().len(), 0);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains("rejects"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn first_seen_places_pack_into_32_bits() {
        assert_eq!(SeenAt::pack(3, 70_000).unpack(), Some((3, 70_000)));
        assert_eq!(SeenAt::pack(0, 1).unpack(), Some((0, 1)));
        assert_eq!(
            SeenAt::pack(300, 2).unpack(),
            None,
            "too many sheets to say which"
        );
        assert_eq!(
            SeenAt::pack(1, 20_000_000).unpack(),
            None,
            "row beyond 24 bits"
        );
    }

    #[test]
    fn blank_rows_between_records_are_one_warning_and_progress_counts_rows() {
        let (dir, mappings, mut store) = setup();
        let file = dir.path().join("risks.csv");
        std::fs::write(
            &file,
            format!("{HEADER}R-1,Outage,3,2,Mitigate\n,,,,\n,,,,\nR-2,Flood,2,2,Accept\n"),
        )
        .unwrap();
        let mut rows = 0;
        let report = import_path(
            &mut store,
            &mappings,
            &file,
            &options(&mappings, dir.path()),
            &mut |n| rows += n,
        )
        .unwrap();
        assert_eq!(report.imported, 2);
        let gaps: Vec<_> = report
            .warnings
            .iter()
            .filter(|w| w.message.contains("blank rows"))
            .collect();
        assert_eq!(gaps.len(), 1, "{:?}", report.warnings);
        assert_eq!(gaps[0].location, "risks.csv!3");
        assert!(rows >= 2);
    }

    /// A register with a row that warns (an unreadable clause), one that is rejected (a
    /// likelihood off the scale) and a duplicate id.
    fn register(title_of_r3: &str) -> String {
        let mut text = String::from("Risk ID,Risk Title,Clause,Likelihood,Impact,Treatment\n");
        for i in 1..=20 {
            text.push_str(&format!(
                "R-{i},Risk {i},27001 A.5.{i},{},2,Mitigate\n",
                i % 5 + 1
            ));
        }
        text.push_str(&format!("R-30,{title_of_r3},27001 A.5.7,3,3,Accept\n"));
        text.push_str("R-31,Vague,see the policy,2,2,Accept\n");
        text.push_str("R-32,Off the scale,27001 A.5.7,9,2,Accept\n");
        text.push_str("R-1,Risk 1,27001 A.5.1,2,2,Mitigate\n");
        text
    }

    fn import_file(
        store: &mut Store,
        mappings: &Mappings,
        opts: &ImportOptions,
        file: &Path,
    ) -> ImportReport {
        import_path(store, mappings, file, opts, &mut |_| {}).unwrap()
    }

    #[test]
    fn an_unchanged_reimport_recognises_its_rows_and_reports_like_the_first() {
        let (dir, mappings, mut store) = setup();
        let file = dir.path().join("risks.csv");
        std::fs::write(&file, register("Outage")).unwrap();
        let opts = options(&mappings, dir.path());
        let first = import_file(&mut store, &mappings, &opts, &file);
        assert_eq!(
            (first.imported, first.rejected, first.recognised),
            (22, 2, 0)
        );
        assert!(
            first
                .warnings
                .iter()
                .any(|w| w.message.contains("not a clause"))
        );

        let again = import_file(&mut store, &mappings, &opts, &file);
        assert_eq!((again.imported, again.updated, again.unchanged), (0, 0, 22));
        // Every row but the one with a warning, which is mapped (and warned about) again.
        assert_eq!(again.recognised, 21);
        assert_eq!(again.warnings, first.warnings);
        assert_eq!(again.rejects, first.rejects);
        assert_eq!(again.records, first.records);
        assert_eq!(store.import_runs(1).unwrap()[0].unchanged, 22);

        // A dry run recognises them too, and writes nothing.
        let mut dry = opts.clone();
        dry.dry_run = true;
        let report = import_file(&mut store, &mappings, &dry, &file);
        assert_eq!((report.unchanged, report.recognised), (22, 21));
    }

    #[test]
    fn a_changed_row_is_updated_with_its_history_and_the_rest_recognised() {
        let (dir, mappings, mut store) = setup();
        let file = dir.path().join("risks.csv");
        std::fs::write(&file, register("Outage")).unwrap();
        let opts = options(&mappings, dir.path());
        import_file(&mut store, &mappings, &opts, &file);
        let id = imsbridge_model::RecordId::from_source("risks.csv", RecordKind::Risk, "R-30");
        let before = store.record(id).unwrap().unwrap();

        std::fs::write(&file, register("Power outage")).unwrap();
        let report = import_file(&mut store, &mappings, &opts, &file);
        assert_eq!(
            (report.updated, report.unchanged, report.recognised),
            (1, 21, 20)
        );
        let history = store.record_versions(id).unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].record, before);
        assert_eq!(store.record(id).unwrap().unwrap().title, "Power outage");

        // And back: the old row is recognised by no stored record, so it is mapped.
        std::fs::write(&file, register("Outage")).unwrap();
        let report = import_file(&mut store, &mappings, &opts, &file);
        assert_eq!((report.updated, report.recognised), (1, 20));
        assert_eq!(store.record_versions(id).unwrap().len(), 2);
    }

    #[test]
    fn a_known_row_that_repeats_an_id_is_still_rejected_as_a_duplicate() {
        let (dir, mappings, mut store) = setup();
        let file = dir.path().join("risks.csv");
        // The same line twice: both have the same source hash.
        let mut text = register("Outage");
        text.push_str("R-5,Risk 5,27001 A.5.5,1,2,Mitigate\n");
        std::fs::write(&file, &text).unwrap();
        let opts = options(&mappings, dir.path());
        let first = import_file(&mut store, &mappings, &opts, &file);
        assert_eq!(first.rejected, 3);
        let again = import_file(&mut store, &mappings, &opts, &file);
        assert_eq!(
            (again.rejected, again.unchanged, again.recognised),
            (3, 22, 21)
        );
        assert_eq!(again.rejects, first.rejects);
        assert!(
            again
                .rejects
                .iter()
                .filter(|r| r.message.contains("duplicate"))
                .count()
                == 2
        );
    }

    #[test]
    fn other_mapping_options_map_every_row_again() {
        let (dir, mappings, mut store) = setup();
        let file = dir.path().join("risks.csv");
        std::fs::write(
            &file,
            "Risk ID,Risk Title,Clause,Likelihood,Impact\nR-1,Supplier,8.4,3,2\nR-2,Audit,9.2,2,2\n",
        )
        .unwrap();
        let mut opts = options(&mappings, dir.path());
        opts.standard = Some(imsbridge_model::StandardId::Iso9001);
        let first = import_file(&mut store, &mappings, &opts, &file);
        assert_eq!(first.imported, 2);
        assert_eq!(
            import_file(&mut store, &mappings, &opts, &file).recognised,
            2
        );
        // The same cells name other clauses now: nothing may be taken as unchanged.
        opts.standard = Some(imsbridge_model::StandardId::Iso27001);
        let report = import_file(&mut store, &mappings, &opts, &file);
        assert_eq!((report.updated, report.recognised), (2, 0));
        let id = imsbridge_model::RecordId::from_source("risks.csv", RecordKind::Risk, "R-1");
        let clauses = store.record(id).unwrap().unwrap().clauses;
        assert_eq!(clauses[0].standard, imsbridge_model::StandardId::Iso27001);
    }
}
