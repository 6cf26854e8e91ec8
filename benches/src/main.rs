//! Import benchmark: generates a large XLSX and a large CSV risk register, then times, in the
//! same run and on the same files, the bare parsers (calamine, csv) against a full `import`
//! and an unchanged re-import, printing rows/s, the ratios and each phase's peak RSS.
//!
//! ```text
//! cargo run --release -p imsbridge-bench -- [--xlsx-rows 200000] [--csv-rows 1000000] [--dir bench-data]
//! ```
//!
//! Each phase runs in a child process of its own, so that its peak RSS (VmHWM) is its own and
//! not the high-water mark of an earlier phase or of the file generator.

use imsbridge_bench::{cpu_millis, peak_rss_kib};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use calamine::{DataType, Reader, Xlsx, open_workbook};
use imsbridge_e2e::registers::{RISK_HEADER, generate_risk_rows, write_register_csv};
use imsbridge_import::{ImportOptions, import_path};
use imsbridge_mappings::Mappings;
use imsbridge_store::Store;

// The same allocator as the `imsbridge` binary, so that the figures are the tool's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("phase") {
        return run_phase(&args[1..]);
    }
    let mut xlsx_rows = 200_000usize;
    let mut csv_rows = 1_000_000usize;
    let mut dir = PathBuf::from("bench-data");
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--xlsx-rows" => xlsx_rows = value()?.parse()?,
            "--csv-rows" => csv_rows = value()?.parse()?,
            "--dir" => dir = PathBuf::from(value()?),
            other => {
                bail!("unknown argument {other}; expected --xlsx-rows N, --csv-rows N, --dir DIR")
            }
        }
    }
    std::fs::create_dir_all(&dir)?;
    let xlsx = dir.join(format!("risks-{xlsx_rows}.xlsx"));
    let csv = dir.join(format!("risks-{csv_rows}.csv"));
    if xlsx_rows > 0 && !xlsx.exists() {
        eprintln!("generating {} …", xlsx.display());
        write_xlsx(&xlsx, xlsx_rows)?;
    }
    if csv_rows > 0 && !csv.exists() {
        eprintln!("generating {} …", csv.display());
        write_register_csv(&csv, &RISK_HEADER, generate_risk_rows(csv_rows, 7))?;
    }

    println!(
        "imsbridge import benchmark ({} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    if xlsx_rows > 0 {
        let store = dir.join("bench-xlsx.db");
        remove_store(&store);
        let bare = phase("xlsx-bare", &xlsx, &store)?;
        let stream = phase("xlsx-bare-stream", &xlsx, &store)?;
        let import = phase("import", &xlsx, &store)?;
        let again = phase("import", &xlsx, &store)?;
        report(
            "XLSX",
            xlsx_rows,
            &[
                ("bare calamine (worksheet_range)", &bare),
                ("bare calamine (cells reader)", &stream),
            ],
            &import,
            &again,
        );
        println!(
            "  target: import ≤ 1.5× bare calamine → {:.2}× (range), {:.2}× (cells reader)",
            import.seconds / bare.seconds,
            import.seconds / stream.seconds
        );
        println!(
            "  target: unchanged re-import ≤ 0.5× import, 0 rows written → {:.2}×, {} written",
            again.seconds / import.seconds,
            again.written
        );
        println!(
            "  CPU time: import {:.2}× bare calamine (range); unchanged re-import {:.2}× import",
            import.cpu_seconds / bare.cpu_seconds.max(1e-9),
            again.cpu_seconds / import.cpu_seconds.max(1e-9)
        );
        remove_store(&store);
    }
    if csv_rows > 0 {
        let store = dir.join("bench-csv.db");
        remove_store(&store);
        let bare = phase("csv-bare", &csv, &store)?;
        let import = phase("import", &csv, &store)?;
        let again = phase("import", &csv, &store)?;
        report(
            "CSV",
            csv_rows,
            &[("bare csv (ByteRecord)", &bare)],
            &import,
            &again,
        );
        println!(
            "  target: import ≤ 3× bare csv → {:.2}×",
            import.seconds / bare.seconds
        );
        println!(
            "  target: import peak RSS ≤ 100 MiB → {:.1} MiB",
            import.peak_rss_kib as f64 / 1024.0
        );
        println!(
            "  target: unchanged re-import ≤ 0.5× import, 0 rows written → {:.2}×, {} written",
            again.seconds / import.seconds,
            again.written
        );
        remove_store(&store);
    }
    Ok(())
}

fn remove_store(store: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", store.display()));
    }
    let entries = store.parent().and_then(|dir| std::fs::read_dir(dir).ok());
    for e in entries.into_iter().flatten().flatten() {
        if e.file_name()
            .to_string_lossy()
            .starts_with("imsbridge.rejects-")
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn write_xlsx(path: &Path, rows: usize) -> anyhow::Result<()> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    // Constant-memory mode writes rows straight to a temporary file: 200k rows in a few MB.
    let sheet = workbook.add_worksheet_with_constant_memory()?;
    sheet.set_name("Risks")?;
    for (c, h) in RISK_HEADER.iter().enumerate() {
        sheet.write_string(0, u16::try_from(c)?, *h)?;
    }
    for (r, row) in generate_risk_rows(rows, 11).enumerate() {
        let r = u32::try_from(r + 1)?;
        for (c, value) in row.iter().enumerate() {
            let c = u16::try_from(c)?;
            match value.parse::<f64>() {
                Ok(n) if !value.is_empty() => sheet.write_number(r, c, n)?,
                _ => sheet.write_string(r, c, value)?,
            };
        }
    }
    workbook.save(path)?;
    Ok(())
}

/// What one phase measured.
#[derive(Debug)]
struct Measured {
    rows: u64,
    seconds: f64,
    peak_rss_kib: u64,
    written: u64,
    /// CPU time of all the phase's threads: on a machine shared with other work, wall times
    /// vary from run to run much more than this does.
    cpu_seconds: f64,
}

fn phase(name: &str, file: &Path, store: &Path) -> anyhow::Result<Measured> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe)
        .arg("phase")
        .arg(name)
        .arg(file)
        .arg(store)
        .output()?;
    if !out.status.success() {
        bail!(
            "phase {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<u64> = text
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    match fields.as_slice() {
        [rows, micros, rss, written, cpu_millis] => Ok(Measured {
            rows: *rows,
            seconds: *micros as f64 / 1e6,
            peak_rss_kib: *rss,
            written: *written,
            cpu_seconds: *cpu_millis as f64 / 1e3,
        }),
        _ => bail!("phase {name} printed {text:?}"),
    }
}

fn report(
    label: &str,
    rows: usize,
    baselines: &[(&str, &Measured)],
    import: &Measured,
    again: &Measured,
) {
    println!("\n{label}: {rows} rows");
    let line = |name: &str, m: &Measured| {
        println!(
            "  {name:<34} {:>8.2} s  {:>10.0} rows/s  peak RSS {:>7.1} MiB  CPU {:>6.2} s",
            m.seconds,
            m.rows as f64 / m.seconds.max(1e-9),
            m.peak_rss_kib as f64 / 1024.0,
            m.cpu_seconds
        );
    };
    for (name, m) in baselines {
        line(name, m);
    }
    line("import (first)", import);
    line("import (unchanged)", again);
    println!("  first import wrote {} records", import.written);
}

/// Runs one phase in this (child) process and prints
/// `rows micros peak_rss_kib written cpu_millis`.
fn run_phase(args: &[String]) -> anyhow::Result<()> {
    let [name, file, store] = args else {
        bail!("phase NAME FILE STORE")
    };
    let file = Path::new(file);
    let started = Instant::now();
    let (rows, written) = match name.as_str() {
        "xlsx-bare" => {
            let mut wb: Xlsx<_> = open_workbook(file)?;
            let range = wb.worksheet_range("Risks")?;
            let mut cells = 0u64;
            for row in range.rows() {
                cells += row.iter().filter(|c| !c.is_empty()).count() as u64;
            }
            std::hint::black_box(cells);
            (range.height().saturating_sub(1) as u64, 0)
        }
        "xlsx-bare-stream" => {
            let mut wb: Xlsx<_> = open_workbook(file)?;
            let mut reader = wb.worksheet_cells_reader("Risks")?;
            let mut last_row = 0u32;
            while let Some(cell) = reader.next_cell()? {
                last_row = cell.get_position().0;
                std::hint::black_box(cell.get_value());
            }
            (u64::from(last_row), 0)
        }
        "csv-bare" => {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(true)
                .from_path(file)?;
            let mut record = csv::ByteRecord::new();
            let mut rows = 0u64;
            while reader.read_byte_record(&mut record)? {
                rows += 1;
                std::hint::black_box(record.len());
            }
            (rows, 0)
        }
        "import" => {
            let mappings = Mappings::embedded()?;
            let mut store_handle = Store::open(Path::new(store))?;
            let dir = Path::new(store).parent().unwrap_or(Path::new("."));
            let options = ImportOptions::new(mappings.default_profile().clone(), dir);
            let report = import_path(&mut store_handle, &mappings, file, &options, &mut |_| {})?;
            let rows = report.imported + report.updated + report.unchanged + report.rejected;
            (rows, report.imported + report.updated)
        }
        other => bail!("unknown phase {other}"),
    };
    let micros = started.elapsed().as_micros();
    println!(
        "{rows} {micros} {} {written} {}",
        peak_rss_kib(),
        cpu_millis()
    );
    Ok(())
}
