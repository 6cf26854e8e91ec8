mod common;
use common::*;
use imsbridge_model::{StandardId, Status};
use imsbridge_store::{ImportRunSummary, Store};
use std::time::Instant;

fn cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    s.split_whitespace().next().unwrap().parse::<f64>().unwrap() / 1e9
}

#[test]
#[ignore]
fn perf() {
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let t = Instant::now();
    let _c0 = cpu();
    let c0 = _c0;
    let records: Vec<_> = (0..n)
        .map(|i| {
            let mut r = with_clauses(
                risk(&format!("R-{i:07}"), &format!("Risk number {i} about supplier failure")),
                &[(StandardId::Iso27001, "A.5.19"), (StandardId::Iso9001, "8.4")],
                &["8.1"],
            );
            r.description = Some("A supplier could fail to deliver critical components on time, delaying production.".into());
            r.owner = Some("Head of Procurement".into());
            r.status = Some(Status::from_label("Open"));
            r.extra.insert("Department".into(), "Operations".into());
            r.extra.insert("Comment".into(), format!("row {i}"));
            if std::env::var("NOCL").is_ok() { r.clauses.clear(); r.hs.clear(); }
            r.seal();
            r
        })
        .collect();
    let json_len: usize = records
        .iter()
        .take(100)
        .map(|r| serde_json::to_string(r).unwrap().len())
        .sum::<usize>()
        / 100;
    eprintln!(
        "built {n} records in {:?}, json ~{json_len} bytes",
        t.elapsed()
    );
    let dir = tempfile::tempdir().unwrap();
    let path = std::env::var("DB_PATH")
        .map(std::path::PathBuf::from)
        .unwrap_or(dir.path().join("perf.db"));
    let existed = path.exists();
    let mut store = Store::open(&path).unwrap();
    if !existed {
        let t = Instant::now();
        let _c0 = cpu();
        let c0 = _c0;
        let mut tx = store.begin_import(&start("perf.csv")).unwrap();
        for r in &records {
            tx.upsert(r).unwrap();
        }
        tx.commit(&ImportRunSummary::default()).unwrap();
        let e = t.elapsed();
        eprintln!(
            "insert: {e:?} = {:.0}/s wall, {:.0}/s cpu",
            n as f64 / e.as_secs_f64(),
            n as f64 / (cpu() - c0)
        );
    }
    if std::env::var("ONLY_INSERT").is_ok() {
        return;
    }
    let t = Instant::now();
    let _c0 = cpu();
    let c0 = _c0;
    let mut tx = store.begin_import(&start("perf.csv")).unwrap();
    for r in &records {
        tx.upsert(r).unwrap();
    }
    tx.commit(&ImportRunSummary::default()).unwrap();
    let e = t.elapsed();
    eprintln!(
        "unchanged: {e:?} = {:.0}/s wall, {:.0}/s cpu",
        n as f64 / e.as_secs_f64(),
        n as f64 / (cpu() - c0)
    );

    if let Ok(k) = std::env::var("REPEAT") {
        let k: usize = k.parse().unwrap();
        let t = Instant::now();
        let c0 = cpu();
        for _ in 0..k {
            let mut tx = store.begin_import(&start("perf.csv")).unwrap();
            for r in &records {
                tx.upsert(r).unwrap();
            }
            tx.commit(&ImportRunSummary::default()).unwrap();
        }
        let e = t.elapsed();
        eprintln!(
            "repeat unchanged: {:.0}/s wall, {:.0}/s cpu",
            (n * k) as f64 / e.as_secs_f64(),
            (n * k) as f64 / (cpu() - c0)
        );
    }
    if std::env::var("NO_UPDATE").is_ok() {
        return;
    }
    let changed: Vec<_> = records
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.title.push('!');
            r.seal();
            r
        })
        .collect();
    let t = Instant::now();
    let _c0 = cpu();
    let c0 = _c0;
    let mut tx = store.begin_import(&start("perf.csv")).unwrap();
    for r in &changed {
        tx.upsert(r).unwrap();
    }
    tx.commit(&ImportRunSummary::default()).unwrap();
    let e = t.elapsed();
    eprintln!(
        "update: {e:?} = {:.0}/s wall, {:.0}/s cpu",
        n as f64 / e.as_secs_f64(),
        n as f64 / (cpu() - c0)
    );

    let t = Instant::now();
    let _c0 = cpu();
    let c0 = _c0;
    let mut tx = store.begin_import(&start("perf.csv")).unwrap();
    for r in &changed {
        tx.upsert(r).unwrap();
    }
    tx.commit(&ImportRunSummary::default()).unwrap();
    let e = t.elapsed();
    eprintln!(
        "unchanged after update: {e:?} = {:.0}/s wall, {:.0}/s cpu",
        n as f64 / e.as_secs_f64(),
        n as f64 / (cpu() - c0)
    );

    let t = Instant::now();
    let _c0 = cpu();
    let c0 = _c0;
    let mut c = 0u64;
    store
        .for_each_record(&Default::default(), |_| {
            c += 1;
            Ok::<(), imsbridge_store::StoreError>(())
        })
        .unwrap();
    eprintln!("read all {c}: {:?}", t.elapsed());
    let t = Instant::now();
    let _c0 = cpu();
    let c0 = _c0;
    let f = imsbridge_store::RecordFilter {
        standard: Some(StandardId::Iso27001),
        clause: Some("A.5".into()),
        ..Default::default()
    };
    let k = store.records(&f).unwrap().len();
    eprintln!("clause filter {k}: {:?}", t.elapsed());
    eprintln!(
        "db size {} MB",
        std::fs::metadata(&path).unwrap().len() / 1_000_000
    );
}
