//! The rows of the sample registers. Synthetic: invented companies, people, systems and events.
//! Standards appear only as clause and control numbers with short titles of our own.

/// A date as (year, month, day); turned into a real date when a register is written.
pub type Ymd = (i32, u32, u32);

/// One row of the ISMS risk register (5×5 scale).
#[derive(Debug, Clone, Copy)]
pub struct IsmsRisk {
    pub id: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub owner: &'static str,
    pub clause: &'static str,
    /// Inherent (likelihood, impact), 1–5.
    pub inherent: (u8, u8),
    pub treatment: &'static str,
    pub plan: &'static str,
    /// Residual (likelihood, impact), 1–5.
    pub residual: (u8, u8),
    pub due: Ymd,
    pub status: &'static str,
}

const JB: &str = "Jonas Becker (CISO)";
const MH: &str = "Mira Hoffmann (Head of IT Operations)";
const LV: &str = "Lena Vogel (Data Protection Officer)";
const TK: &str = "Tobias Krüger (Head of Engineering)";
const SN: &str = "Sara Nowak (Head of Customer Support)";
const FS: &str = "Felix Schmid (CFO)";
const AW: &str = "Anna Weber (HR Lead)";
const DO: &str = "Daniel Ortiz (Cloud Platform Lead)";
const PR: &str = "Priya Raman (Head of Data Science)";

macro_rules! isms {
    ($id:literal, $title:literal, $desc:literal, $owner:expr, $clause:literal, ($l:literal, $i:literal),
     $treat:literal, $plan:literal, ($rl:literal, $ri:literal), ($y:literal, $m:literal, $d:literal), $status:literal) => {
        IsmsRisk {
            id: $id,
            title: $title,
            description: $desc,
            owner: $owner,
            clause: $clause,
            inherent: ($l, $i),
            treatment: $treat,
            plan: $plan,
            residual: ($rl, $ri),
            due: ($y, $m, $d),
            status: $status,
        }
    };
}

/// The ISMS register's risks. Rows 5 and 6 share an owner: the register merges
/// that cell over both rows, as people do.
pub const ISMS_RISKS: [IsmsRisk; 40] = [
    isms!(
        "R-001",
        "Ransomware encrypts file servers",
        "Malware delivered by phishing encrypts shared drives and the on-premises file servers.",
        MH,
        "27001 6.1.2; A.8.7",
        (4, 5),
        "Mitigate",
        "EDR on all servers; immutable offsite backups",
        (2, 4),
        (2026, 3, 31),
        "In progress"
    ),
    isms!(
        "R-002",
        "Phishing leads to credential theft",
        "Staff enter their credentials on look-alike login pages.",
        JB,
        "27001 A.6.3; A.8.5",
        (4, 4),
        "Mitigate",
        "Phishing-resistant MFA; quarterly phishing simulation",
        (2, 3),
        (2026, 2, 28),
        "Open"
    ),
    isms!(
        "R-003",
        "Cloud storage bucket publicly exposed",
        "A misconfigured object storage bucket exposes customer data exports.",
        DO,
        "27001 A.5.23; A.8.9",
        (3, 5),
        "Mitigate",
        "Policy-as-code guardrails; weekly posture scan",
        (1, 5),
        (2026, 4, 30),
        "Open"
    ),
    isms!(
        "R-004",
        "Key hosting supplier insolvency",
        "The hosting partner for the EU region fails financially.",
        FS,
        "27001 A.5.19; A.5.30",
        (2, 4),
        "Transfer",
        "Exit clause in contract; second provider pre-qualified",
        (2, 2),
        (2026, 6, 30),
        "Open"
    ),
    isms!(
        "R-005",
        "Unpatched VPN appliance exploited",
        "Edge VPN firmware lags behind the vendor's security advisories.",
        MH,
        "27001 Annex A 8.8",
        (4, 5),
        "Mitigate",
        "Emergency patch window of 72 hours; replace with zero-trust access",
        (2, 4),
        (2026, 1, 31),
        "Closed"
    ),
    isms!(
        "R-006",
        "Backup restore never rehearsed",
        "Restores of the billing database have not been tested end to end.",
        MH,
        "27001 Annex A 8.13",
        (3, 4),
        "Mitigate",
        "Quarterly restore drill with recorded evidence",
        (1, 4),
        (2026, 3, 15),
        "In progress"
    ),
    isms!(
        "R-007",
        "Laptop theft exposes customer data",
        "An unencrypted laptop is stolen while travelling.",
        JB,
        "27001 A.8.1; A.8.24",
        (3, 3),
        "Mitigate",
        "Enforce full-disk encryption through device management",
        (3, 1),
        (2026, 2, 15),
        "Closed"
    ),
    isms!(
        "R-008",
        "Insider copies the customer database",
        "A departing engineer exports production data to a private account.",
        AW,
        "27001 A.6.5; A.8.12",
        (2, 5),
        "Mitigate",
        "Egress data loss prevention; access review at notice",
        (1, 4),
        (2026, 5, 31),
        "Open"
    ),
    isms!(
        "R-009",
        "DDoS takes the customer portal offline",
        "A volumetric attack makes the portal unavailable for hours.",
        DO,
        "27001 A.8.20; A.5.29",
        (3, 3),
        "Transfer",
        "Managed DDoS protection in the CDN contract",
        (2, 2),
        (2026, 3, 31),
        "Closed"
    ),
    isms!(
        "R-010",
        "Privileged accounts not reviewed",
        "Administrator rights accumulate after role changes.",
        JB,
        "27001 A.5.18; A.8.2",
        (3, 4),
        "Mitigate",
        "Quarterly privileged access review",
        (2, 3),
        (2026, 4, 15),
        "In progress"
    ),
    isms!(
        "R-011",
        "LLM chatbot leaks customer data",
        "The support chatbot quotes other customers' ticket contents in its answers.",
        SN,
        "42001 6.1.2; 27001 A.5.34",
        (3, 5),
        "Mitigate",
        "Retrieval scoped per tenant; output filter for personal data; red-team tests",
        (1, 4),
        (2026, 2, 28),
        "In progress"
    ),
    isms!(
        "R-012",
        "Prompt injection through uploaded documents",
        "Instructions hidden in customer uploads steer the support assistant.",
        TK,
        "42001 6.1.2; A.6.2.4",
        (4, 4),
        "Mitigate",
        "Input sanitising; tool-call allow-list; adversarial test suite",
        (2, 3),
        (2026, 3, 31),
        "Open"
    ),
    isms!(
        "R-013",
        "Source code pushed to a public repository",
        "A developer pushes internal code to a personal public repository.",
        TK,
        "27001 A.8.4; A.8.12",
        (2, 4),
        "Mitigate",
        "Secret scanning; organisation-only repositories",
        (1, 3),
        (2026, 5, 15),
        "Open"
    ),
    isms!(
        "R-014",
        "Colocation power failure",
        "An extended power outage hits the colocation facility.",
        MH,
        "27001 A.7.11; A.5.30",
        (2, 4),
        "Transfer",
        "Availability SLA with the provider; failover region",
        (1, 3),
        (2026, 6, 30),
        "Closed"
    ),
    isms!(
        "R-015",
        "Breach notification deadline missed",
        "A personal data breach is not reported to the authority within 72 hours.",
        LV,
        "27001 A.5.26; A.5.34",
        (2, 5),
        "Mitigate",
        "Incident playbook with DPO escalation; tabletop exercise",
        (1, 4),
        (2026, 4, 30),
        "In progress"
    ),
    isms!(
        "R-016",
        "Vulnerable third-party library shipped",
        "A dependency with a critical CVE reaches production.",
        TK,
        "27001 A.8.8; A.8.28",
        (4, 3),
        "Mitigate",
        "Dependency scanning in CI with a build-breaking threshold",
        (2, 2),
        (2026, 2, 28),
        "Closed"
    ),
    isms!(
        "R-017",
        "Shadow IT SaaS tools",
        "Teams sign up to unapproved SaaS tools and upload customer data.",
        JB,
        "27001 A.5.9; A.5.23",
        (4, 3),
        "Mitigate",
        "SaaS discovery; approval workflow for new tools",
        (3, 2),
        (2026, 5, 31),
        "Open"
    ),
    isms!(
        "R-018",
        "Weak password reset at the helpdesk",
        "The helpdesk resets passwords without verifying the caller.",
        SN,
        "27001 A.5.17",
        (3, 4),
        "Mitigate",
        "Call-back verification; self-service reset with MFA",
        (1, 3),
        (2026, 3, 15),
        "Closed"
    ),
    isms!(
        "R-019",
        "Logs too short-lived for investigations",
        "Security logs are kept for only 14 days.",
        DO,
        "27001 A.8.15; A.8.16",
        (3, 3),
        "Mitigate",
        "Central log platform with 13-month retention",
        (2, 2),
        (2026, 6, 15),
        "In progress"
    ),
    isms!(
        "R-020",
        "Office break-in after hours",
        "Unauthorised access to the Leipzig office outside working hours.",
        AW,
        "27001 A.7.1; A.7.2",
        (2, 2),
        "Accept",
        "Accepted by management; alarm system in place",
        (2, 2),
        (2026, 9, 30),
        "Monitoring"
    ),
    isms!(
        "R-021",
        "Executive impersonation by email",
        "Attackers impersonate the CEO to request urgent payments.",
        FS,
        "27001 A.5.14; A.6.3",
        (3, 4),
        "Mitigate",
        "DMARC reject policy; call-back rule for payments",
        (2, 2),
        (2026, 1, 31),
        "Closed"
    ),
    isms!(
        "R-022",
        "Legacy FTP server still in production",
        "Two customers still deliver files over unencrypted FTP.",
        DO,
        "27001 A.8.24; A.8.20",
        (3, 3),
        "Avoid",
        "Decommission FTP; move both customers to SFTP",
        (1, 1),
        (2026, 4, 30),
        "In progress"
    ),
    isms!(
        "R-023",
        "Single engineer runs the database cluster",
        "Only one engineer can operate and recover the database cluster.",
        MH,
        "27001 7.2; A.5.37",
        (3, 3),
        "Mitigate",
        "Runbooks and cross-training of two engineers",
        (2, 2),
        (2026, 7, 31),
        "Open"
    ),
    isms!(
        "R-024",
        "Production data in the test environment",
        "Real customer records were copied to staging for debugging.",
        LV,
        "27001 A.8.33; A.8.31",
        (4, 3),
        "Mitigate",
        "Synthetic test data generator; masking pipeline",
        (1, 2),
        (2026, 5, 31),
        "In progress"
    ),
    isms!(
        "R-025",
        "Unmanaged phones read company email",
        "Personal phones access email without device controls.",
        JB,
        "27001 A.8.1; A.6.7",
        (3, 2),
        "Accept",
        "Accepted with app protection policies only",
        (3, 2),
        (2026, 10, 31),
        "Monitoring"
    ),
    isms!(
        "R-026",
        "Expired certificate causes an outage",
        "TLS certificates are renewed by hand and can lapse.",
        DO,
        "ISO/IEC 27001:2022 A.8.24",
        (3, 3),
        "Mitigate",
        "Automated renewal and expiry alerts",
        (1, 2),
        (2026, 2, 15),
        "Closed"
    ),
    isms!(
        "R-027",
        "Leaked API keys run up cloud costs",
        "Leaked keys are used to run crypto-mining workloads.",
        DO,
        "27001 A.5.17; A.8.16",
        (2, 3),
        "Mitigate",
        "Secrets vault; key rotation; budget alerts",
        (1, 2),
        (2026, 3, 31),
        "In progress"
    ),
    isms!(
        "R-028",
        "AI model fine-tuned on unlicensed data",
        "The fine-tuning corpus contains third-party content without a licence.",
        TK,
        "42001 A.7.5; 6.1.2",
        (2, 4),
        "Avoid",
        "Remove unlicensed sources; provenance register for datasets",
        (1, 2),
        (2026, 4, 30),
        "Open"
    ),
    isms!(
        "R-029",
        "Continuity plan outdated after cloud move",
        "The continuity plan still describes the old on-premises hosting.",
        MH,
        "27001 A.5.29; A.5.30",
        (3, 4),
        "Mitigate",
        "Rewrite the plan; yearly failover test",
        (2, 3),
        (2026, 6, 30),
        "Open"
    ),
    isms!(
        "R-030",
        "One person creates and approves payments",
        "Supplier payments lack segregation of duties.",
        FS,
        "27001 A.5.3",
        (2, 4),
        "Mitigate",
        "Four-eyes approval in the ERP",
        (1, 3),
        (2026, 3, 31),
        "Closed"
    ),
    isms!(
        "R-031",
        "Customer data kept beyond retention",
        "Closed accounts keep their data beyond the agreed period.",
        LV,
        "27001 A.8.10; A.5.34",
        (3, 3),
        "Mitigate",
        "Automated deletion job; retention schedule",
        (2, 2),
        (2026, 8, 31),
        "In progress"
    ),
    isms!(
        "R-032",
        "Old disks disposed without wiping",
        "Decommissioned disks leave the office without certified erasure.",
        AW,
        "27001 A.7.14; A.7.10",
        (2, 3),
        "Transfer",
        "Certified disposal contractor",
        (1, 2),
        (2026, 4, 30),
        "Closed"
    ),
    isms!(
        "R-033",
        "Contractors skip security onboarding",
        "Contractors get access before completing security training.",
        AW,
        "27001 7.3; A.6.3",
        (3, 2),
        "Mitigate",
        "E-learning completed before access is granted",
        (2, 2),
        (2026, 2, 28),
        "Closed"
    ),
    isms!(
        "R-034",
        "Targeted espionage against analytics IP",
        "A state-sponsored group targets our customer analytics models.",
        JB,
        "27001 6.1.2; A.5.7",
        (2, 5),
        "Mitigate",
        "Threat intelligence feed; threat hunting on EDR telemetry",
        (2, 4),
        (2026, 9, 30),
        "Monitoring"
    ),
    isms!(
        "R-035",
        "Biased credit-scoring recommendations",
        "The scoring model disadvantages applicants by postcode.",
        PR,
        "42001 6.1.4; A.5.2",
        (3, 4),
        "Mitigate",
        "Fairness metrics in the release gate; impact assessment",
        (2, 3),
        (2026, 5, 31),
        "In progress"
    ),
    isms!(
        "R-036",
        "Hotfixes bypass change approval",
        "Urgent fixes are deployed without an approved change.",
        TK,
        "27001 A.8.32; 8.1",
        (3, 3),
        "Mitigate",
        "Pipeline requires an approved change ticket",
        (2, 2),
        (2026, 3, 31),
        "Closed"
    ),
    isms!(
        "R-037",
        "Tracking without valid cookie consent",
        "The website sets analytics cookies before consent.",
        LV,
        "27001 A.5.31; A.5.34",
        (2, 3),
        "Mitigate",
        "Consent management platform",
        (1, 2),
        (2026, 2, 28),
        "Closed"
    ),
    isms!(
        "R-038",
        "Basement network room floods",
        "Heavy rain floods the on-site network room.",
        MH,
        "27001 A.7.5",
        (1, 4),
        "Accept",
        "Accepted: equipment raised; move to cloud planned",
        (1, 4),
        (2026, 11, 30),
        "Monitoring"
    ),
    isms!(
        "R-039",
        "Penetration test findings left open",
        "Medium findings from the last penetration test are not fixed.",
        JB,
        "27001 A.8.8; 10.2",
        (3, 3),
        "Mitigate",
        "Findings tracked in the backlog with due dates",
        (2, 2),
        (2026, 4, 15),
        "In progress"
    ),
    isms!(
        "R-040",
        "AI code assistant suggests insecure code",
        "Developers accept generated code with injection flaws.",
        TK,
        "42001 6.1.2; 27001 A.8.28",
        (3, 3),
        "Mitigate",
        "Static analysis on every merge; secure-coding guidance for AI tools",
        (2, 2),
        (2026, 6, 30),
        "Open"
    ),
];

/// The two ISMS rows (indexes into [`ISMS_RISKS`]) whose "Risk Owner" cell is merged.
pub const ISMS_MERGED_OWNER: (usize, usize) = (4, 5);

/// Likelihood words of the ISMS register's 5-point scale (also its "Lists" sheet).
pub const LIKELIHOOD_WORDS: [&str; 5] = [
    "1 - Rare",
    "2 - Unlikely",
    "3 - Possible",
    "4 - Likely",
    "5 - Almost certain",
];

/// Impact words of the ISMS register's 5-point scale.
pub const IMPACT_WORDS: [&str; 5] = [
    "1 - Negligible",
    "2 - Minor",
    "3 - Moderate",
    "4 - Major",
    "5 - Severe",
];

/// One row of the QMS nonconformity / CAPA register.
#[derive(Debug, Clone, Copy)]
pub struct Capa {
    pub id: &'static str,
    pub raised: Ymd,
    pub source: &'static str,
    pub description: &'static str,
    pub clause: &'static str,
    pub severity: &'static str,
    pub root_cause: &'static str,
    pub correction: &'static str,
    pub corrective_action: &'static str,
    pub owner: &'static str,
    pub due: Ymd,
    pub status: &'static str,
    pub effectiveness: &'static str,
}

macro_rules! capa {
    ($id:literal, ($y:literal, $m:literal, $d:literal), $source:literal, $desc:literal, $clause:literal,
     $sev:literal, $root:literal, $corr:literal, $ca:literal, $owner:literal, ($dy:literal, $dm:literal, $dd:literal),
     $status:literal, $eff:literal) => {
        Capa {
            id: $id,
            raised: ($y, $m, $d),
            source: $source,
            description: $desc,
            clause: $clause,
            severity: $sev,
            root_cause: $root,
            correction: $corr,
            corrective_action: $ca,
            owner: $owner,
            due: ($dy, $dm, $dd),
            status: $status,
            effectiveness: $eff,
        }
    };
}

/// The CAPA register's rows. NC-2026-007's description spans two lines.
pub const CAPAS: [Capa; 25] = [
    capa!(
        "NC-2026-001",
        (2026, 1, 14),
        "Internal audit",
        "Calibration of torque wrenches overdue on line 2",
        "ISO 9001 7.1.5",
        "Minor",
        "Calibration schedule kept in a personal spreadsheet",
        "Wrenches calibrated and tagged",
        "Calibration plan moved into the maintenance system with reminders",
        "Karin Albers",
        (2026, 2, 28),
        "Closed",
        "Effective – all tools within calibration at follow-up"
    ),
    capa!(
        "NC-2026-002",
        (2026, 1, 20),
        "Customer complaint",
        "Housing batch 4471 delivered with burrs on the sealing face",
        "ISO 9001 8.7",
        "Major",
        "Deburring step skipped after a tool change",
        "Batch sorted and reworked at the customer site",
        "Tool change checklist includes deburring verification",
        "Stefan Roth",
        (2026, 3, 15),
        "Closed",
        "Effective – no recurrence in 3 months"
    ),
    capa!(
        "NC-2026-003",
        (2026, 1, 27),
        "Supplier",
        "Certificate of conformity missing for aluminium bar stock",
        "9001 8.4.2",
        "Minor",
        "Supplier changed logistics provider and the paperwork was lost",
        "Certificate requested and filed",
        "Goods receipt blocked in the ERP until the certificate is scanned",
        "Julia Meier",
        (2026, 3, 31),
        "Closed",
        "Effective – checked on 20 deliveries"
    ),
    capa!(
        "NC-2026-004",
        (2026, 2, 3),
        "Internal audit",
        "Superseded work instruction WI-114 rev C still posted at station 5",
        "ISO 9001 7.5.3",
        "Minor",
        "No retrieval step when documents are revised",
        "Obsolete copies removed",
        "Document release workflow adds a retrieval sign-off",
        "Karin Albers",
        (2026, 3, 31),
        "In progress",
        ""
    ),
    capa!(
        "NC-2026-005",
        (2026, 2, 10),
        "Process monitoring",
        "Scrap rate on CNC cell 3 above the 4% target for three weeks",
        "ISO 9001 9.1.3",
        "Minor",
        "Worn spindle bearing",
        "Bearing replaced",
        "Vibration monitoring added to preventive maintenance",
        "Stefan Roth",
        (2026, 4, 30),
        "Awaiting verification",
        ""
    ),
    capa!(
        "NC-2026-006",
        (2026, 2, 12),
        "Customer complaint",
        "Wrong part label on a shipment to Nordhafen Pumpen AG",
        "ISO 9001 8.5.2",
        "Major",
        "Label template not updated after a part number change",
        "Shipment relabelled",
        "Label templates generated from ERP master data",
        "Julia Meier",
        (2026, 3, 31),
        "Closed",
        "Effective – no mislabelling since April"
    ),
    capa!(
        "NC-2026-007",
        (2026, 2, 18),
        "Incoming inspection",
        "Incoming inspection found cracked castings in lot 2208.\nThe supplier's X-ray report does not cover the full lot.",
        "ISO 9001 8.4.1",
        "Major",
        "Sampling plan never agreed with the supplier",
        "Lot quarantined and returned",
        "Sampling plan added to the supplier quality agreement",
        "Julia Meier",
        (2026, 4, 30),
        "In progress",
        ""
    ),
    capa!(
        "NC-2026-008",
        (2026, 2, 25),
        "Internal audit",
        "Training records missing for two new CMM operators",
        "ISO 9001 7.2",
        "Minor",
        "HR onboarding does not notify quality",
        "Operators trained and records filed",
        "Onboarding checklist includes a competence sign-off",
        "Nadine Kraus",
        (2026, 4, 30),
        "Closed",
        "Effective – verified in the June audit"
    ),
    capa!(
        "NC-2026-009",
        (2026, 3, 4),
        "Management review",
        "Customer satisfaction survey not run in 2025",
        "ISO 9001 9.1.2",
        "Observation",
        "Survey owner left the company",
        "Survey scheduled",
        "Owner assigned in the management system",
        "Markus Lang",
        (2026, 6, 30),
        "In progress",
        ""
    ),
    capa!(
        "NC-2026-010",
        (2026, 3, 11),
        "Process monitoring",
        "Gaps in the heat treatment furnace temperature log",
        "ISO 9001 8.5.1",
        "Major",
        "Data logger battery failure raised no alarm",
        "Parts from affected loads hardness-tested",
        "Logger replaced; alarm on missing data",
        "Stefan Roth",
        (2026, 4, 15),
        "Closed",
        "Effective – no gaps in 90 days"
    ),
    capa!(
        "NC-2026-011",
        (2026, 3, 17),
        "Certification audit",
        "Quality objectives for logistics are not measurable",
        "ISO 9001 6.2",
        "Minor",
        "Objectives copied from the previous year",
        "Objectives reworded with targets",
        "Objective review added to the management review agenda",
        "Markus Lang",
        (2026, 5, 31),
        "Closed",
        "Effective – accepted by the auditor"
    ),
    capa!(
        "NC-2026-012",
        (2026, 3, 25),
        "Customer complaint",
        "Late delivery to Aurelia Medical three times in Q1",
        "ISO 9001 8.1",
        "Minor",
        "Capacity planning ignores maintenance downtime",
        "Expedited shipment",
        "Planning includes maintenance windows",
        "Julia Meier",
        (2026, 5, 31),
        "In progress",
        ""
    ),
    capa!(
        "NC-2026-013",
        (2026, 4, 1),
        "Internal audit",
        "Change of coating supplier not assessed before release",
        "ISO 9001 6.3",
        "Minor",
        "Purchasing unaware of the change procedure",
        "Retrospective assessment done",
        "Purchasing trained on the change procedure",
        "Karin Albers",
        (2026, 5, 31),
        "Awaiting verification",
        ""
    ),
    capa!(
        "NC-2026-014",
        (2026, 4, 8),
        "Supplier",
        "Packaging supplier delivered damaged crates",
        "ISO 9001 8.4.3",
        "Observation",
        "Transport packaging not specified in the purchase order",
        "Crates replaced",
        "Packaging specification added to purchase orders",
        "Julia Meier",
        (2026, 6, 30),
        "Open",
        ""
    ),
    capa!(
        "NC-2026-015",
        (2026, 4, 15),
        "Process monitoring",
        "Quarantined parts used after their label fell off",
        "ISO 9001 8.7",
        "Major",
        "Adhesive labels unsuitable for oily parts",
        "Parts recalled from assembly",
        "Locked quarantine cage replaces labels",
        "Stefan Roth",
        (2026, 5, 31),
        "In progress",
        ""
    ),
    capa!(
        "NC-2026-016",
        (2026, 4, 22),
        "Internal audit",
        "Design review records incomplete for project P-88",
        "ISO 9001 8.3.4",
        "Minor",
        "Review template lacks sign-off fields",
        "Records completed",
        "Template updated with mandatory sign-offs",
        "Elif Demir",
        (2026, 6, 30),
        "Open",
        ""
    ),
    capa!(
        "NC-2026-017",
        (2026, 4, 29),
        "Customer complaint",
        "Surface finish outside drawing tolerance on shaft 220-17",
        "ISO 9001 8.6",
        "Major",
        "Final inspection used an outdated drawing revision",
        "Parts replaced",
        "Inspection plans linked to the current drawing revision",
        "Stefan Roth",
        (2026, 6, 15),
        "In progress",
        ""
    ),
    capa!(
        "NC-2026-018",
        (2026, 5, 6),
        "Management review",
        "Internal audit programme behind schedule",
        "ISO 9001 9.2",
        "Minor",
        "Only one trained internal auditor",
        "Two audits outsourced",
        "Three more internal auditors trained",
        "Karin Albers",
        (2026, 7, 31),
        "Open",
        ""
    ),
    capa!(
        "NC-2026-019",
        (2026, 5, 13),
        "Internal audit",
        "Corrective action NC-2025-031 closed without an effectiveness check",
        "ISO 9001 10.2; 9.1.3",
        "Minor",
        "The CAPA tool allowed closure without evidence",
        "Effectiveness reviewed",
        "CAPA tool requires evidence before closure",
        "Karin Albers",
        (2026, 6, 30),
        "Closed",
        "Effective – tool change verified"
    ),
    capa!(
        "NC-2026-020",
        (2026, 5, 20),
        "Process monitoring",
        "Gauge R&R above 30% for bore gauge BG-7",
        "ISO 9001 7.1.5",
        "Minor",
        "Gauge worn beyond limits",
        "Gauge replaced",
        "Wear limits added to the calibration plan",
        "Stefan Roth",
        (2026, 7, 31),
        "Open",
        ""
    ),
    capa!(
        "NC-2026-021",
        (2026, 5, 27),
        "Customer complaint",
        "Customer-owned fixtures damaged in storage",
        "ISO 9001 8.5.3",
        "Minor",
        "No designated storage area for customer property",
        "Fixtures repaired at our cost",
        "Marked storage area for customer property",
        "Julia Meier",
        (2026, 7, 31),
        "Open",
        ""
    ),
    capa!(
        "NC-2026-022",
        (2026, 6, 3),
        "Internal audit",
        "Risk and opportunity register not updated since 2024",
        "ISO 9001 6.1",
        "Observation",
        "Register owner unclear",
        "Register reviewed",
        "Quarterly review in the QMS calendar",
        "Markus Lang",
        (2026, 8, 31),
        "Open",
        ""
    ),
    capa!(
        "NC-2026-023",
        (2026, 6, 10),
        "Supplier",
        "Plating subcontracted without part approval",
        "ISO 9001 8.4.1",
        "Major",
        "Buyer unaware of the approval requirement",
        "Plated parts held",
        "ERP checks the approved supplier list",
        "Julia Meier",
        (2026, 7, 31),
        "In progress",
        ""
    ),
    capa!(
        "NC-2026-024",
        (2026, 6, 17),
        "Certification audit",
        "Improvement actions not evaluated for effectiveness",
        "ISO 9001:2015 10.3",
        "Minor",
        "Improvement log has no review step",
        "Log reviewed",
        "Monthly improvement review",
        "Markus Lang",
        (2026, 9, 30),
        "Open",
        ""
    ),
    capa!(
        "NC-2026-025",
        (2026, 6, 24),
        "Process monitoring",
        "Product released before final inspection sign-off",
        "ISO 9001 §8.6",
        "Major",
        "Sign-off done on paper after shipment",
        "Shipment recalled for inspection",
        "ERP blocks shipping without an inspection record",
        "Stefan Roth",
        (2026, 7, 31),
        "Open",
        ""
    ),
];

/// One row of the enterprise risk register (Low/Medium/High scale).
#[derive(Debug, Clone, Copy)]
pub struct ErmRisk {
    pub reference: &'static str,
    pub risk: &'static str,
    pub category: &'static str,
    pub probability: &'static str,
    pub consequence: &'static str,
    pub rating: &'static str,
    pub response: &'static str,
    pub owner: &'static str,
    pub next_review: Ymd,
}

macro_rules! erm {
    ($r:literal, $risk:literal, $cat:literal, $p:literal, $c:literal, $rating:literal, $resp:literal, $owner:literal, ($y:literal, $m:literal, $d:literal)) => {
        ErmRisk {
            reference: $r,
            risk: $risk,
            category: $cat,
            probability: $p,
            consequence: $c,
            rating: $rating,
            response: $resp,
            owner: $owner,
            next_review: ($y, $m, $d),
        }
    };
}

pub const ERM_RISKS: [ErmRisk; 20] = [
    erm!(
        "ERM-01",
        "Loss of the largest customer contract",
        "Strategic",
        "Medium",
        "High",
        "High",
        "mitigate",
        "Chief Commercial Officer",
        (2026, 3, 31)
    ),
    erm!(
        "ERM-02",
        "Fuel price volatility",
        "Financial",
        "High",
        "Medium",
        "High",
        "transfer",
        "CFO",
        (2026, 3, 31)
    ),
    erm!(
        "ERM-03",
        "Shortage of qualified drivers",
        "Operational",
        "High",
        "Medium",
        "High",
        "mitigate",
        "COO",
        (2026, 4, 30)
    ),
    erm!(
        "ERM-04",
        "Breach of EU road transport working-time rules",
        "Compliance",
        "Medium",
        "Medium",
        "Medium",
        "mitigate",
        "General Counsel",
        (2026, 6, 30)
    ),
    erm!(
        "ERM-05",
        "Fire at the Rotterdam warehouse",
        "Operational",
        "Low",
        "High",
        "Medium",
        "transfer",
        "Head of Facilities",
        (2026, 9, 30)
    ),
    erm!(
        "ERM-06",
        "Currency exposure on GBP revenue",
        "Financial",
        "Medium",
        "Medium",
        "Medium",
        "transfer",
        "CFO",
        (2026, 6, 30)
    ),
    erm!(
        "ERM-07",
        "Failed ERP migration",
        "Operational",
        "Medium",
        "High",
        "High",
        "mitigate",
        "CIO",
        (2026, 2, 28)
    ),
    erm!(
        "ERM-08",
        "Low-cost competitor enters core lanes",
        "Strategic",
        "Medium",
        "Medium",
        "Medium",
        "accept",
        "CEO",
        (2026, 12, 31)
    ),
    erm!(
        "ERM-09",
        "Customs delays after tariff changes",
        "Operational",
        "High",
        "Low",
        "Medium",
        "mitigate",
        "Head of Customs",
        (2026, 5, 31)
    ),
    erm!(
        "ERM-10",
        "Bribery by a local agent",
        "Compliance",
        "Low",
        "High",
        "Medium",
        "avoid",
        "General Counsel",
        (2026, 6, 30)
    ),
    erm!(
        "ERM-11",
        "Interest rate rise on fleet leases",
        "Financial",
        "Medium",
        "Low",
        "Low",
        "accept",
        "CFO",
        (2026, 12, 31)
    ),
    erm!(
        "ERM-12",
        "Cyber attack on dispatch systems",
        "Operational",
        "Medium",
        "High",
        "High",
        "mitigate",
        "CIO",
        (2026, 3, 31)
    ),
    erm!(
        "ERM-13",
        "Errors in emissions reporting",
        "Compliance",
        "Medium",
        "Medium",
        "Medium",
        "mitigate",
        "Head of Sustainability",
        (2026, 9, 30)
    ),
    erm!(
        "ERM-14",
        "Dependence on a single port terminal",
        "Strategic",
        "Low",
        "High",
        "Medium",
        "mitigate",
        "COO",
        (2026, 9, 30)
    ),
    erm!(
        "ERM-15",
        "Customer credit default",
        "Financial",
        "Medium",
        "Medium",
        "Medium",
        "transfer",
        "CFO",
        (2026, 6, 30)
    ),
    erm!(
        "ERM-16",
        "Serious accident in a depot",
        "Operational",
        "Low",
        "High",
        "Medium",
        "mitigate",
        "Head of HSE",
        (2026, 4, 30)
    ),
    erm!(
        "ERM-17",
        "Nordic expansion misses its business case",
        "Strategic",
        "Medium",
        "Medium",
        "Medium",
        "accept",
        "CEO",
        (2026, 12, 31)
    ),
    erm!(
        "ERM-18",
        "Shipment to a sanctioned party",
        "Compliance",
        "Low",
        "High",
        "Medium",
        "avoid",
        "General Counsel",
        (2026, 3, 31)
    ),
    erm!(
        "ERM-19",
        "Loss of the telematics provider",
        "Operational",
        "Low",
        "Medium",
        "Low",
        "accept",
        "CIO",
        (2026, 10, 31)
    ),
    erm!(
        "ERM-20",
        "Reputational damage on social media",
        "Strategic",
        "Low",
        "Medium",
        "Low",
        "accept",
        "Head of Communications",
        (2026, 10, 31)
    ),
];

/// One row of the "AI Risks" sheet (1–3 scale).
#[derive(Debug, Clone, Copy)]
pub struct AiRisk {
    pub id: &'static str,
    pub system: &'static str,
    pub risk: &'static str,
    pub description: &'static str,
    pub category: &'static str,
    pub reference: &'static str,
    pub likelihood: u8,
    pub impact: u8,
    pub treatment: &'static str,
    pub plan: &'static str,
    pub owner: &'static str,
    pub due: Ymd,
}

macro_rules! ai_risk {
    ($id:literal, $sys:literal, $risk:literal, $desc:literal, $cat:literal, $r:literal, $l:literal, $i:literal,
     $t:literal, $plan:literal, $owner:expr, ($y:literal, $m:literal, $d:literal)) => {
        AiRisk {
            id: $id,
            system: $sys,
            risk: $risk,
            description: $desc,
            category: $cat,
            reference: $r,
            likelihood: $l,
            impact: $i,
            treatment: $t,
            plan: $plan,
            owner: $owner,
            due: ($y, $m, $d),
        }
    };
}

pub const AI_RISKS: [AiRisk; 15] = [
    ai_risk!(
        "AIR-01",
        "SupportBot",
        "Hallucinated refund promises",
        "The bot invents refund terms that customers then rely on.",
        "Robustness",
        "6.1.2; A.6.2.4",
        3,
        2,
        "Mitigate",
        "Answer only from cited help-centre articles; grounding check",
        SN,
        (2026, 3, 31)
    ),
    ai_risk!(
        "AIR-02",
        "SupportBot",
        "Personal data kept in chat logs",
        "Transcripts keep customer identifiers beyond the retention period.",
        "Privacy",
        "6.1.4; A.5.4",
        2,
        3,
        "Mitigate",
        "Redact personal data before logging; 30-day retention",
        LV,
        (2026, 4, 30)
    ),
    ai_risk!(
        "AIR-03",
        "SupportBot",
        "Users not told they are talking to a bot",
        "The chat widget does not disclose that answers are generated.",
        "Transparency",
        "A.8.2",
        2,
        2,
        "Mitigate",
        "Disclosure banner and hand-over to a human agent",
        SN,
        (2026, 2, 28)
    ),
    ai_risk!(
        "AIR-04",
        "CreditLens",
        "Postcode acts as a proxy for ethnicity",
        "Scores differ by postcode in ways that track protected groups.",
        "Fairness",
        "6.1.4; A.5.2",
        3,
        3,
        "Mitigate",
        "Remove proxy features; disparate impact tests per release",
        PR,
        (2026, 5, 31)
    ),
    ai_risk!(
        "AIR-05",
        "CreditLens",
        "Decisions cannot be explained to applicants",
        "Partner banks cannot give applicants reasons for a decline.",
        "Transparency",
        "A.6.2.7",
        2,
        3,
        "Mitigate",
        "Reason codes for every decision",
        PR,
        (2026, 6, 30)
    ),
    ai_risk!(
        "AIR-06",
        "CreditLens",
        "Model drift after interest rate changes",
        "Score distributions shift as lending conditions change.",
        "Robustness",
        "A.6.2.6",
        2,
        3,
        "Mitigate",
        "Monthly drift monitoring with a retraining trigger",
        PR,
        (2026, 4, 30)
    ),
    ai_risk!(
        "AIR-07",
        "TalentMatch",
        "Gender bias in candidate ranking",
        "The vendor model ranks equally qualified women lower.",
        "Fairness",
        "6.1.2; A.5.4",
        3,
        3,
        "Avoid",
        "Stop automated ranking until the vendor delivers a bias audit",
        AW,
        (2026, 3, 15)
    ),
    ai_risk!(
        "AIR-08",
        "TalentMatch",
        "Vendor changes the model without notice",
        "Model updates reach production without our review.",
        "Accountability",
        "A.10.3",
        2,
        2,
        "Transfer",
        "Contract clause for change notice and audit rights",
        AW,
        (2026, 6, 30)
    ),
    ai_risk!(
        "AIR-09",
        "ForecastPro",
        "Poor training data from the legacy WMS",
        "Historic demand data has gaps and duplicates.",
        "Data quality",
        "A.7.4",
        2,
        2,
        "Mitigate",
        "Data quality checks at ingestion",
        PR,
        (2026, 5, 31)
    ),
    ai_risk!(
        "AIR-10",
        "ForecastPro",
        "Energy use of nightly retraining",
        "Retraining every night consumes far more compute than needed.",
        "Environmental impact",
        "6.1.2",
        1,
        1,
        "Accept",
        "Accepted; compute hours reviewed quarterly",
        PR,
        (2026, 9, 30)
    ),
    ai_risk!(
        "AIR-11",
        "DocReader",
        "Adversarial invoices alter extracted amounts",
        "Crafted invoices make the model read the wrong total.",
        "Security",
        "A.6.2.4",
        2,
        3,
        "Mitigate",
        "Plausibility checks; human review above a threshold",
        TK,
        (2026, 4, 30)
    ),
    ai_risk!(
        "AIR-12",
        "DocReader",
        "Misread amounts trigger wrong payments",
        "Low-quality scans lead to wrong amounts being paid.",
        "Robustness",
        "8.2",
        2,
        2,
        "Mitigate",
        "Confidence threshold with manual entry below it",
        TK,
        (2026, 5, 15)
    ),
    ai_risk!(
        "AIR-13",
        "CodePilot",
        "Secrets sent to the assistant vendor",
        "Prompts include credentials copied from configuration files.",
        "Security",
        "8.3",
        2,
        3,
        "Mitigate",
        "Block secrets in prompts; enterprise tenant without training on our data",
        TK,
        (2026, 3, 31)
    ),
    ai_risk!(
        "AIR-14",
        "CodePilot",
        "Assistant runs destructive shell commands",
        "Agent mode can execute commands on servers it reaches.",
        "Safety",
        "A.9.4",
        1,
        3,
        "Mitigate",
        "Agent mode disabled on production hosts",
        TK,
        (2026, 2, 28)
    ),
    ai_risk!(
        "AIR-15",
        "SupportBot",
        "No accountable owner for model updates",
        "Prompt and model changes ship without a named approver.",
        "Accountability",
        "5.3; A.3.2",
        2,
        2,
        "Mitigate",
        "Named model owner and release approval",
        SN,
        (2026, 4, 15)
    ),
];

/// One row of the "AI Systems" inventory sheet.
#[derive(Debug, Clone, Copy)]
pub struct AiSystem {
    pub id: &'static str,
    pub name: &'static str,
    pub purpose: &'static str,
    pub role: &'static str,
    pub stage: &'static str,
    pub model_type: &'static str,
    pub tier: &'static str,
    pub owner: &'static str,
}

pub const AI_SYSTEMS: [AiSystem; 6] = [
    AiSystem {
        id: "AIS-01",
        name: "SupportBot",
        purpose: "Answers customer support questions from the help centre and ticket history",
        role: "deployer",
        stage: "Operation and monitoring",
        model_type: "Hosted LLM with retrieval",
        tier: "limited",
        owner: SN,
    },
    AiSystem {
        id: "AIS-02",
        name: "CreditLens",
        purpose: "Scores small-business credit applications for partner banks",
        role: "provider",
        stage: "Operation and monitoring",
        model_type: "Gradient-boosted trees",
        tier: "high",
        owner: PR,
    },
    AiSystem {
        id: "AIS-03",
        name: "TalentMatch",
        purpose: "Ranks job applicants for recruiters",
        role: "deployer",
        stage: "Verification and validation",
        model_type: "Vendor transformer ranking model",
        tier: "high",
        owner: AW,
    },
    AiSystem {
        id: "AIS-04",
        name: "ForecastPro",
        purpose: "Forecasts warehouse demand for logistics customers",
        role: "provider",
        stage: "Operation and monitoring",
        model_type: "Time-series ensemble",
        tier: "minimal",
        owner: PR,
    },
    AiSystem {
        id: "AIS-05",
        name: "DocReader",
        purpose: "Extracts fields from scanned supplier invoices",
        role: "provider",
        stage: "Development",
        model_type: "Vision-language model",
        tier: "minimal",
        owner: TK,
    },
    AiSystem {
        id: "AIS-06",
        name: "CodePilot",
        purpose: "Suggests code to our developers",
        role: "deployer",
        stage: "Operation and monitoring",
        model_type: "SaaS LLM code assistant",
        tier: "minimal",
        owner: TK,
    },
];

/// One row of the Statement of Applicability.
#[derive(Debug, Clone, Copy)]
pub struct SoaControl {
    pub id: &'static str,
    pub control: &'static str,
    pub applicable: &'static str,
    pub justification: &'static str,
    /// Empty for controls that are not applicable.
    pub status: &'static str,
    pub evidence: &'static str,
}

macro_rules! soa {
    ($id:literal, $c:literal, $a:literal, $j:literal, $s:literal, $e:literal) => {
        SoaControl {
            id: $id,
            control: $c,
            applicable: $a,
            justification: $j,
            status: $s,
            evidence: $e,
        }
    };
}

/// ISO/IEC 27001:2022 Annex A controls (written "A.5.1") and ISO/IEC 42001:2023 Annex A
/// controls (written "42001 A.6.2.2").
pub const SOA_CONTROLS: [SoaControl; 30] = [
    soa!(
        "A.5.1",
        "Information security policies",
        "Yes",
        "Baseline for the whole ISMS",
        "Implemented",
        "ISMS-POL-001 v3.2"
    ),
    soa!(
        "A.5.2",
        "Security roles and responsibilities",
        "Yes",
        "Accountability for every control",
        "Implemented",
        "RACI in the ISMS handbook, chapter 3"
    ),
    soa!(
        "A.5.7",
        "Threat intelligence",
        "Yes",
        "Targeted attack risk R-034",
        "In progress",
        "Feed contract signed; triage process in draft"
    ),
    soa!(
        "A.5.9",
        "Asset inventory",
        "Yes",
        "Basis for ownership and classification",
        "Implemented",
        "CMDB export 2026-09"
    ),
    soa!(
        "A.5.15",
        "Access control",
        "Yes",
        "Multi-tenant platform with customer data",
        "Implemented",
        "Access control policy ISMS-POL-007"
    ),
    soa!(
        "A.5.19",
        "Supplier security",
        "Yes",
        "Hosting and SaaS suppliers process customer data",
        "Implemented",
        "Supplier register with risk tiers"
    ),
    soa!(
        "A.5.23",
        "Cloud service security",
        "Yes",
        "The platform runs on public cloud",
        "In progress",
        "Cloud security standard v0.9 in review"
    ),
    soa!(
        "A.5.24",
        "Incident management planning",
        "Yes",
        "Contractual breach notification duties",
        "Implemented",
        "Incident response plan IR-PLAN-02"
    ),
    soa!(
        "A.5.29",
        "Security during disruption",
        "Yes",
        "Customer SLAs require continuity",
        "Planned",
        "Continuity plan rewrite planned (R-029)"
    ),
    soa!(
        "A.5.30",
        "ICT readiness for continuity",
        "Yes",
        "Customer SLAs require continuity",
        "In progress",
        "Failover test report (draft)"
    ),
    soa!(
        "A.5.34",
        "Privacy and protection of personal data",
        "Yes",
        "GDPR applies to customer data",
        "Implemented",
        "Records of processing; DPIA register"
    ),
    soa!(
        "A.6.1",
        "Background screening",
        "Yes",
        "Staff can access customer data",
        "Implemented",
        "HR screening procedure HR-PRO-03"
    ),
    soa!(
        "A.6.3",
        "Security awareness and training",
        "Yes",
        "Phishing risk R-002",
        "Implemented",
        "LMS completion report: 96%"
    ),
    soa!(
        "A.6.7",
        "Remote working",
        "Yes",
        "Hybrid working model",
        "Implemented",
        "Remote working policy ISMS-POL-012"
    ),
    soa!(
        "A.7.1",
        "Physical security perimeters",
        "Yes",
        "The Leipzig office holds network equipment",
        "Implemented",
        "Badge system logs"
    ),
    soa!(
        "A.7.4",
        "Physical security monitoring",
        "No",
        "Offices in a managed business park; the landlord monitors the site under contract and we run no data centre",
        "",
        "Landlord security contract"
    ),
    soa!(
        "A.7.10",
        "Storage media",
        "No",
        "No removable media in use; USB storage blocked on all endpoints",
        "",
        "Endpoint policy export"
    ),
    soa!(
        "A.8.1",
        "User endpoint devices",
        "Yes",
        "Laptops hold customer data",
        "Implemented",
        "Device management compliance report"
    ),
    soa!(
        "A.8.5",
        "Secure authentication",
        "Yes",
        "Credential theft risk R-002",
        "In progress",
        "MFA rollout at 80%"
    ),
    soa!(
        "A.8.7",
        "Protection against malware",
        "Yes",
        "Ransomware risk R-001",
        "Implemented",
        "EDR console report"
    ),
    soa!(
        "A.8.8",
        "Technical vulnerability management",
        "Yes",
        "Internet-facing services",
        "Implemented",
        "Patch SLA dashboard"
    ),
    soa!(
        "A.8.12",
        "Data leakage prevention",
        "Yes",
        "Insider risk R-008",
        "Planned",
        "Vendor selection under way"
    ),
    soa!(
        "A.8.13",
        "Information backup",
        "Yes",
        "Restore risk R-006",
        "In progress",
        "Restore drill report Q1"
    ),
    soa!(
        "A.8.24",
        "Use of cryptography",
        "Yes",
        "Customer data at rest and in transit",
        "Implemented",
        "Cryptography standard; TLS scan results"
    ),
    soa!(
        "42001 A.2.2",
        "AI policy",
        "Yes",
        "We offer AI features to customers",
        "Implemented",
        "AI-POL-001 v1.1"
    ),
    soa!(
        "42001 A.5.2",
        "AI system impact assessment process",
        "Yes",
        "CreditLens affects individuals",
        "In progress",
        "Impact assessment template v0.8"
    ),
    soa!(
        "42001 A.6.2.2",
        "AI system requirements and specification",
        "Yes",
        "In-house AI development",
        "Implemented",
        "Requirements template in the product wiki"
    ),
    soa!(
        "42001 A.6.2.4",
        "AI system verification and validation",
        "Yes",
        "Release gates for models",
        "In progress",
        "Evaluation suite for SupportBot"
    ),
    soa!(
        "42001 A.7.4",
        "Quality of data for AI systems",
        "Yes",
        "Models trained on customer data",
        "Planned",
        "Data quality rules in the backlog"
    ),
    soa!(
        "42001 A.10.3",
        "AI suppliers",
        "Yes",
        "Vendor models in TalentMatch and CodePilot",
        "Not started",
        "None yet"
    ),
];

/// One row of the "Clause Assessment" sheet (imports as requirement assessments).
#[derive(Debug, Clone, Copy)]
pub struct Assessment {
    pub standard: &'static str,
    pub clause: &'static str,
    pub result: &'static str,
    pub evidence: &'static str,
    pub assessor: &'static str,
}

const KA: &str = "Karin Albers (Internal Audit)";
const OH: &str = "Omar Haddad (Compliance)";
const EXT: &str = "Certaval GmbH (external)";

macro_rules! assess {
    ($s:expr, $c:literal, $r:literal, $e:literal, $a:expr) => {
        Assessment {
            standard: $s,
            clause: $c,
            result: $r,
            evidence: $e,
            assessor: $a,
        }
    };
}

const ISMS: &str = "ISO/IEC 27001:2022";
const QMS: &str = "ISO 9001:2015";
const AIMS: &str = "ISO/IEC 42001:2023";

pub const ASSESSMENTS: [Assessment; 24] = [
    assess!(
        ISMS,
        "4.1",
        "Conforming",
        "Context analysis ISMS-DOC-004 reviewed in May",
        KA
    ),
    assess!(
        ISMS,
        "5.2",
        "Conforming",
        "Policy approved by management in February",
        KA
    ),
    assess!(
        ISMS,
        "5.3",
        "Partially conforming",
        "Deputies not named for two processes",
        KA
    ),
    assess!(
        ISMS,
        "6.1.2",
        "Conforming",
        "Risk method and register R-001 to R-040",
        EXT
    ),
    assess!(
        ISMS,
        "6.1.3",
        "Partially conforming",
        "Two SoA exclusions lack a justification",
        EXT
    ),
    assess!(ISMS, "7.2", "Conforming", "Competence matrix 2026", KA),
    assess!(
        ISMS,
        "7.5.3",
        "Nonconforming",
        "Obsolete policy versions still on the intranet",
        EXT
    ),
    assess!(
        ISMS,
        "8.2",
        "Conforming",
        "Risk assessment repeated after the cloud migration",
        KA
    ),
    assess!(
        ISMS,
        "9.2.2",
        "Partially conforming",
        "Audit programme covers 70% of the scope",
        EXT
    ),
    assess!(
        ISMS,
        "9.3.2",
        "Conforming",
        "Management review minutes, March",
        KA
    ),
    assess!(ISMS, "10.2", "Conforming", "CAPA log with root causes", KA),
    assess!(QMS, "4.4", "Conforming", "Process map QM-001", OH),
    assess!(
        QMS,
        "7.1.5",
        "N/A",
        "No monitoring or measuring equipment needs calibration",
        OH
    ),
    assess!(
        QMS,
        "8.4.1",
        "Nonconforming",
        "Two cloud suppliers were never evaluated",
        EXT
    ),
    assess!(
        QMS,
        "8.5.1",
        "Conforming",
        "Release procedure for customer deliveries",
        OH
    ),
    assess!(
        QMS,
        "9.1.2",
        "Conforming",
        "Customer satisfaction survey 2026",
        OH
    ),
    assess!(
        QMS,
        "9.2",
        "Conforming",
        "Internal audit report QA-2026-02",
        KA
    ),
    assess!(
        QMS,
        "10.3",
        "Partially conforming",
        "Improvement log has no effectiveness review",
        EXT
    ),
    assess!(
        AIMS,
        "4.1",
        "Conforming",
        "AI context analysis AIMS-DOC-001",
        OH
    ),
    assess!(
        AIMS,
        "5.2",
        "Partially conforming",
        "AI policy not yet communicated to contractors",
        OH
    ),
    assess!(
        AIMS,
        "6.1.4",
        "Nonconforming",
        "No impact assessment for TalentMatch",
        EXT
    ),
    assess!(AIMS, "7.4", "Conforming", "AI communication plan", OH),
    assess!(
        AIMS,
        "9.1",
        "Partially conforming",
        "Drift monitoring only for CreditLens",
        EXT
    ),
    assess!(
        AIMS,
        "10.2",
        "Conforming",
        "AI incidents handled in the CAPA log",
        KA
    ),
];
