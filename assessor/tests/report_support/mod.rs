//! Shared fixture for the report tests: a small but complete assessment with
//! every status and complexity, an object without findings, top-level code,
//! and hostile text in every customer-controlled field.

#![allow(dead_code)] // Each test binary uses a different part.

use std::collections::BTreeMap;

use assessor::findings::{Complexity, Finding, ObjectKind, ObjectRef, Status};
use assessor::report::overview::{DatabaseOverview, NotCollected, ServerOverview};
use assessor::report::{Excerpt, FeatureInfo, ObjectSummary, ReportInput, SkipKind, SkippedFile};

/// Object names that would run script if a renderer did not escape them.
pub const XSS_SCRIPT: &str = "<script>document.title='PWNED-SCRIPT';alert(1)</script>";
pub const XSS_IMG: &str = "\"><img src=x onerror=\"document.title='PWNED-IMG';alert(1)\">";

pub struct Sample {
    pub findings: Vec<Finding>,
    pub objects: Vec<ObjectSummary>,
    pub features: BTreeMap<String, FeatureInfo>,
    pub inputs: Vec<String>,
    pub skipped: Vec<SkippedFile>,
    pub excerpts: Vec<Excerpt>,
    pub servers: Vec<ServerOverview>,
}

impl Sample {
    pub fn input(&self) -> ReportInput<'_> {
        ReportInput {
            tool_version: "0.1.0-test",
            target: "babelfish-5.5",
            settings: &[],
            inputs: &self.inputs,
            generated_at: Some("2026-11-22T08:00:00Z"),
            findings: &self.findings,
            objects: &self.objects,
            features: &self.features,
            files_analyzed: 3,
            lines_analyzed: 1234,
            skipped: &self.skipped,
            workload: None,
            excerpts: &self.excerpts,
            servers: &self.servers,
            supported: None,
            effort_overrides: None,
        }
    }

    /// How many findings have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.findings.iter().filter(|f| f.status == status).count()
    }
}

fn obj(schema: Option<&str>, name: &str, kind: ObjectKind) -> ObjectRef {
    ObjectRef {
        schema: schema.map(str::to_string),
        name: name.to_string(),
        kind,
    }
}

#[allow(clippy::too_many_arguments)]
fn finding(
    file: &str,
    line: u32,
    object: Option<ObjectRef>,
    feature: &str,
    status: Status,
    complexity: Complexity,
    effort: u32,
    snippet: &str,
) -> Finding {
    Finding {
        file: file.to_string(),
        line,
        column: 5,
        object,
        feature: feature.to_string(),
        group: feature.split('.').next().unwrap_or("other").to_string(),
        status,
        complexity,
        effort_minutes: effort,
        snippet: snippet.to_string(),
        in_dynamic_sql: false,
        workload: None,
    }
}

/// The sample. `beacon` is a URL that must never be fetched: it is planted
/// in customer text as `<img src>` and `<link href>` payloads.
pub fn sample(beacon: &str) -> Sample {
    let orders = obj(Some("Sales"), "usp_GetOrders", ObjectKind::Procedure);
    let xss1 = obj(Some("dbo"), XSS_SCRIPT, ObjectKind::Procedure);
    let xss2 = obj(None, XSS_IMG, ObjectKind::View);
    let clean = obj(Some("dbo"), "CleanView", ObjectKind::View);
    let leak_snippet = format!(
        "SELECT 1 -- </script><img src=\"{beacon}/img\"><link rel=stylesheet href=\"{beacon}/css\">"
    );
    let findings = vec![
        finding(
            "procs/orders.sql",
            12,
            Some(orders.clone()),
            "service_broker.send",
            Status::NotSupported,
            Complexity::High,
            240,
            "SEND ON CONVERSATION @h MESSAGE TYPE [//Orders/Request] (@body);",
        ),
        finding(
            "procs/orders.sql",
            20,
            Some(orders.clone()),
            "query_hint.nolock",
            Status::ReviewSemantics,
            Complexity::Low,
            10,
            "SELECT * FROM Sales.Orders WITH (NOLOCK)\nWHERE OrderDate > @since;",
        ),
        finding(
            "procs/orders.sql",
            31,
            Some(orders),
            "dynamic_sql.exec",
            Status::ReviewManually,
            Complexity::Medium,
            30,
            "EXEC (@sql);",
        ),
        finding(
            "hostile/<b>evil</b>.sql",
            3,
            Some(xss1.clone()),
            "service_broker.send",
            Status::NotSupported,
            Complexity::High,
            240,
            "=HYPERLINK(\"http://x\",\"y\") </script><script>document.title='PWNED-SNIPPET'</script>",
        ),
        finding(
            "hostile/<b>evil</b>.sql",
            9,
            Some(xss1),
            "option.fillfactor",
            Status::Ignored,
            Complexity::Low,
            0,
            "-- \u{2028} line separator \u{2029} & <!-- comment",
        ),
        finding(
            "hostile/<b>evil</b>.sql",
            15,
            Some(xss2.clone()),
            "hint.index",
            Status::ReviewPerformance,
            Complexity::Medium,
            20,
            &leak_snippet,
        ),
        finding(
            "scripts/setup.sql",
            1,
            None,
            "xml.for_xml_explicit",
            Status::NotSupported,
            Complexity::Medium,
            60,
            "+SELECT 1 AS Tag FOR XML EXPLICIT",
        ),
        finding(
            "scripts/setup.sql",
            4,
            None,
            "statement.select",
            Status::Supported,
            Complexity::Low,
            0,
            "@SELECT 2",
        ),
    ];
    let objects = vec![
        ObjectSummary {
            file: "procs/orders.sql".into(),
            object: Some(obj(Some("Sales"), "usp_GetOrders", ObjectKind::Procedure)),
            line: 10,
            code_sha256: None,
        },
        ObjectSummary {
            file: "procs/clean.sql".into(),
            object: Some(clean),
            line: 1,
            code_sha256: None,
        },
        ObjectSummary {
            file: "hostile/<b>evil</b>.sql".into(),
            object: Some(xss2),
            line: 14,
            code_sha256: None,
        },
        ObjectSummary {
            file: "scripts/setup.sql".into(),
            object: None,
            line: 1,
            code_sha256: None,
        },
    ];
    let mut features = BTreeMap::new();
    let mut add = |id: &str, title: &str, docs: Option<&str>| {
        let learning_minutes = if id.starts_with("service_broker") {
            120
        } else {
            0
        };
        features.insert(
            id.to_string(),
            FeatureInfo {
                title: title.to_string(),
                description: format!("What {title} means on Babelfish."),
                remediation: format!("Rewrite uses of {title}."),
                docs_url: docs.map(str::to_string),
                // A listed page's subject, with markup that must stay text.
                docs_title: docs
                    .filter(|d| d.starts_with("https://docs.aws.amazon.com/"))
                    .map(|_| format!("{title} & <b>limits</b>")),
                learning_minutes,
                // A worked rewrite, with markup in it that must stay text.
                rewrite: (id == "query_hint.nolock").then(|| {
                    (
                        format!("SELECT * FROM t WITH (NOLOCK) -- {XSS_IMG}"),
                        "SELECT * FROM t -- rewritten".to_string(),
                    )
                }),
            },
        );
    };
    add(
        "service_broker.send",
        "Service Broker SEND",
        Some(
            "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/babelfish-compatibility.html",
        ),
    );
    add("query_hint.nolock", "NOLOCK table hint", None);
    add("dynamic_sql.exec", "Dynamic SQL (EXEC of a string)", None);
    add(
        "option.fillfactor",
        "FILLFACTOR <i>option</i> & \"quotes\"",
        Some("javascript:document.title='PWNED-DOCS'"),
    );
    add("hint.index", "Index hints", None);
    add("xml.for_xml_explicit", "FOR XML EXPLICIT", None);
    // "statement.select" is deliberately not in the catalog.
    let excerpts = sample_excerpts(beacon);
    Sample {
        excerpts,
        servers: vec![sample_server()],
        findings,
        objects,
        features,
        inputs: vec!["./exported <scripts>".to_string()],
        // A hostile file name: the skipped list is customer text too.
        skipped: vec![SkippedFile {
            file: format!("dumps/{XSS_IMG}.sql"),
            kind: SkipKind::Binary,
            reason: "file looks binary".to_string(),
        }],
    }
}

/// The text an excerpt shows at `line` of procs/orders.sql in the sample.
pub fn orders_line(line: u32) -> String {
    match line {
        12 => "    SEND ON CONVERSATION @h MESSAGE TYPE [//Orders/Request] (@body);".to_string(),
        20 => "    SELECT * FROM Sales.Orders WITH (NOLOCK)".to_string(),
        _ => format!("    -- orders line {line}"),
    }
}

/// Source around the sample's findings, as the analyzer cuts it: the
/// orders procedure in full (lines 9-34) and hostile lines around the
/// hostile findings (markup that must stay text, a beacon that must not
/// be fetched).
fn sample_excerpts(beacon: &str) -> Vec<Excerpt> {
    let orders: String = (1..=40).map(|l| orders_line(l) + "\n").collect();
    let hostile: String = (1..=20)
        .map(|l| {
            format!("-- {l} </script><img src=\"{beacon}/excerpt\"> {XSS_SCRIPT} </pre><b>x</b>\n")
        })
        .collect();
    [
        Excerpt::around("procs/orders.sql", &orders, [12, 20, 31]),
        Excerpt::around("hostile/<b>evil</b>.sql", &hostile, [3, 9, 15]),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// One assessed server with a hostile database name and a step that could
/// not run.
fn sample_server() -> ServerOverview {
    let mut sales = DatabaseOverview {
        name: "SalesDb".into(),
        compatibility_level: 150,
        collation: "SQL_Latin1_General_CP1_CI_AS".into(),
        recovery_model: "FULL".into(),
        data_mb: 20_480,
        log_mb: 1_024,
        filter: "sql-01/SalesDb.".into(),
        ..DatabaseOverview::default()
    };
    sales.findings.not_supported = 2;
    sales.findings.review_semantics = 1;
    ServerOverview {
        target: "sql-01".into(),
        version: "16.0.4125.3".into(),
        edition: "Enterprise Edition (64-bit)".into(),
        product_level: "RTM".into(),
        collation: "SQL_Latin1_General_CP1_CI_AS".into(),
        cpu_count: Some(8),
        memory_mb: Some(65_536),
        clustered: false,
        hadr_enabled: true,
        databases: vec![
            sales,
            DatabaseOverview {
                name: XSS_SCRIPT.into(),
                compatibility_level: 100,
                recovery_model: "SIMPLE".into(),
                filter: format!("sql-01/{XSS_SCRIPT}."),
                ..DatabaseOverview::default()
            },
        ],
        not_collected: vec![NotCollected {
            step: "agent_jobs".into(),
            database: None,
            reason: "error 229, class 14".into(),
            permission: "SQLAgentReaderRole in msdb".into(),
        }],
    }
}
