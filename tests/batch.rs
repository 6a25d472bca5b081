//! Batch evaluation: one output record per input record, in input order, whatever
//! the number of threads; an error record for every kind of bad record; JSONL and
//! CSV outputs snapshotted.

use lexnis::batch::{run_batch, BatchOptions, BatchSummary, InputFormat, OutputFormat, TraceMode};
use lexnis::date::Date;
use lexnis::lower::Compiled;
use lexnis::policy::{compile, PolicySource};
use proptest::prelude::*;
use std::sync::OnceLock;

fn compiled() -> &'static Compiled {
    static C: OnceLock<Compiled> = OnceLock::new();
    C.get_or_init(|| compile(&PolicySource::bundled(), Date::parse("2025-06-01").unwrap()).unwrap())
}

fn run(input: &str, options: &BatchOptions) -> (String, BatchSummary) {
    let mut out = Vec::new();
    let reader: Box<dyn std::io::BufRead + Send> =
        Box::new(std::io::Cursor::new(input.as_bytes().to_vec()));
    let summary = run_batch(compiled(), reader, &mut out, options, &mut |_| {}).unwrap();
    (String::from_utf8(out).unwrap(), summary)
}

/// The output's lines, each parsed as JSON.
fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const GOOD: &str = r#"{"id": "ok-1", "entity_types": ["I.1.a.1"], "size": {"staff": 300, "turnover_eur": 1, "balance_sheet_eur": 1}}"#;

/// Every kind of bad record, each on its own line, between good ones.
fn mixed() -> String {
    [
        GOOD,
        r#"{"id": "bad-json", "size": "#,
        r#"{"id": "missing", "entity_types": ["I.1.a.1"]}"#,
        r#"{"id": "wrong-type", "entity_types": ["I.1.a.1"], "size": {"staff": "many", "turnover_eur": 1, "balance_sheet_eur": 1}}"#,
        r#"{"id": "unknown-field", "entity_types": [], "size": {"staff": 1, "turnover_eur": 1, "balance_sheet_eur": 1}, "colour": "red"}"#,
        r#"{"id": "out-of-range", "size": {"staff": -1, "turnover_eur": 1, "balance_sheet_eur": 1}}"#,
        r#"{"id": "unknown-type", "entity_types": ["I.99.1"], "size": {"staff": 1, "turnover_eur": 1, "balance_sheet_eur": 1}}"#,
        r#"[1, 2, 3]"#,
        GOOD,
    ]
    .join("\n")
}

/// The lines of [`mixed`] and 30 generated entities of many shapes (partners,
/// linked enterprises, the safeguard clause asked or not).
fn varied_lines() -> Vec<String> {
    let population = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/population-300.jsonl"),
    )
    .unwrap();
    // Their ids written as the others', for the test to number them.
    let generated = (population.lines().take(30)).map(|l| l.replacen("\"id\":\"", "\"id\": \"", 1));
    mixed()
        .lines()
        .map(str::to_string)
        .chain(generated)
        .collect()
}

#[test]
fn every_bad_record_becomes_an_error_record_and_the_batch_goes_on() {
    let (out, summary) = run(&mixed(), &BatchOptions::default());
    assert_eq!(out.lines().count(), 9);
    assert_eq!((summary.records, summary.errors), (9, 7));
    let kinds: Vec<String> = out
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let detail = v["error"]["details"][0]["kind"]
                .as_str()
                .map(str::to_string);
            detail
                .or_else(|| v["error"]["kind"].as_str().map(str::to_string))
                .unwrap_or_else(|| "ok".into())
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "ok",
            "not_json",
            "missing_field",
            "wrong_type",
            "unknown_field",
            "out_of_range",
            "unknown_entry",
            "wrong_type",
            "ok"
        ]
    );
    insta::assert_snapshot!(out);
}

#[test]
fn csv_in_and_out() {
    let input =
        "id,entity_types,size.staff,size.turnover_eur,size.balance_sheet_eur,critical_entity\n\
                 acqua,\"[\"\"I.6.1\"\"]\",300,1,1,\n\
                 rifiuti-piccola,\"[\"\"II.2.1\"\"]\",5,1,1,\n\
                 critico,\"[\"\"II.2.1\"\"]\",5,1,1,true\n\
                 corta,\"[\"\"II.2.1\"\"]\",5\n";
    let options = BatchOptions {
        input: InputFormat::Csv,
        output: OutputFormat::Csv,
        ..BatchOptions::default()
    };
    let (out, summary) = run(input, &options);
    assert_eq!((summary.records, summary.errors), (4, 1));
    insta::assert_snapshot!(out);
}

#[test]
fn json_array_input_with_compact_traces() {
    let input = format!(
        "[\n{GOOD},\n{}\n]",
        GOOD.replace("ok-1", "ok-2").replace("300", "10")
    );
    let options = BatchOptions {
        input: InputFormat::Json,
        trace: TraceMode::Compact,
        ..BatchOptions::default()
    };
    let (out, summary) = run(&input, &options);
    assert_eq!(summary.records, 2);
    insta::assert_snapshot!(out);
}

#[test]
fn an_element_never_closed_loses_no_element_after_it() {
    // One element a line; the third has lost its last `}` (then, apart, its
    // closing quote): it would run to the end of the input, taking the records
    // after it and the array's `]` with it.
    let good = |i: usize| GOOD.replace("ok-1", &format!("ok-{i}"));
    for flaw in [("}}", "}"), ("\"ok-3\"", "\"ok-3")] {
        let mut elements: Vec<String> = (1..=6).map(good).collect();
        elements[2] = elements[2].replacen(flaw.0, flaw.1, 1);
        let input = format!("[\n{}\n]\n", elements.join(",\n"));
        let options = BatchOptions {
            input: InputFormat::Json,
            ..BatchOptions::default()
        };
        let (out, summary) = run(&input, &options);
        let lines = json_lines(&out);
        assert_eq!((summary.records, summary.errors), (6, 1), "{flaw:?}");
        let lines_and_ids: Vec<(u64, Option<&str>)> = (lines.iter())
            .map(|l| (l["line"].as_u64().unwrap(), l["id"].as_str()))
            .collect();
        let expected = [2, 3, 4, 5, 6, 7].map(|n| (n, (n != 4).then(|| format!("ok-{}", n - 1))));
        let expected: Vec<(u64, Option<&str>)> =
            expected.iter().map(|(n, id)| (*n, id.as_deref())).collect();
        assert_eq!(lines_and_ids, expected, "{flaw:?}");
        let message = lines[2]["error"]["message"].as_str().unwrap();
        assert!(message.contains("never closed"), "{message}");
    }
}

#[test]
fn a_pretty_printed_element_never_closed_loses_no_element_after_it() {
    // Pretty-printed, the third element's id string is not ended: the array is
    // read again from the next line that opens an element at its indentation.
    let element = |i: usize| {
        format!(
            "  {{\n    \"id\": \"ok-{i}\",\n    \"size\": {{\n      \"staff\": 1,\n      \"turnover_eur\": 1,\n      \"balance_sheet_eur\": 1\n    }}\n  }}"
        )
    };
    let mut elements: Vec<String> = (1..=5).map(element).collect();
    elements[2] = elements[2].replace("\"ok-3\"", "\"ok-3");
    let last_flawed = (1..=2)
        .map(element)
        .chain([element(3).replacen("}", "", 1)]);
    let options = BatchOptions {
        input: InputFormat::Json,
        ..BatchOptions::default()
    };
    for (flawed, input) in [
        (2, format!("[\n{}\n]\n", elements.join(",\n"))),
        (
            2,
            format!("[\n{}\n]\n", last_flawed.collect::<Vec<_>>().join(",\n")),
        ),
    ] {
        let (out, summary) = run(&input, &options);
        let lines = json_lines(&out);
        let count = input.matches("\"id\"").count() as u64;
        assert_eq!((summary.records, summary.errors), (count, 1), "{out}");
        assert!(lines[flawed]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("never closed"));
        for (i, line) in lines.iter().enumerate().filter(|(i, _)| *i != flawed) {
            assert_eq!(line["id"], format!("ok-{}", i + 1), "{out}");
        }
    }
}

#[test]
fn a_csv_quote_never_closed_loses_no_row_after_it() {
    // The stray quote opens the first cell of row 4, then of the last cell of
    // row 3: either would swallow every row after it into one cell.
    let options = BatchOptions {
        input: InputFormat::Csv,
        ..BatchOptions::default()
    };
    for (row, quoted) in [(3, "\"e3,1,1,1"), (2, "e2,1,1,\"1")] {
        let mut rows: Vec<String> = (0..8).map(|i| format!("e{i},1,1,1")).collect();
        rows[row] = quoted.to_string();
        let input = format!(
            "id,size.staff,size.turnover_eur,size.balance_sheet_eur\n{}\n",
            rows.join("\n")
        );
        let (out, summary) = run(&input, &options);
        assert_eq!((summary.records, summary.errors), (8, 1), "{quoted}");
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let message = lines[row]["error"]["message"].as_str().unwrap();
        assert!(message.contains("never closed"), "{message}");
        assert_eq!(lines[row]["line"], row + 2);
        assert_eq!(lines[7]["id"], "e7", "{quoted}");
        assert_eq!(lines[7]["line"], 9, "{quoted}");
    }
    // A row the open quote swallowed is read again as it was written: its
    // quoted empty cell (`""`) is one empty cell, not a quote that opens anew.
    let mut rows: Vec<String> = (0..8).map(|i| format!("e{i},1,1,1")).collect();
    rows[2] = "e2,1,1,\"1".into();
    rows[5] = "e5,\"\",1,1".into();
    let input = format!(
        "id,size.staff,size.turnover_eur,size.balance_sheet_eur\n{}\n",
        rows.join("\n")
    );
    let (out, summary) = run(&input, &options);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!((summary.records, lines.len()), (8, 8), "{out}");
    assert_eq!(lines[5]["id"], "e5", "{}", lines[5]);
    let message = lines[5]["error"].to_string();
    assert!(!message.contains("never closed"), "{message}");
    assert_eq!(lines[6]["id"], "e6");
}

#[test]
fn a_csv_quote_closed_rows_later_is_named_not_evaluated() {
    let options = BatchOptions {
        input: InputFormat::Csv,
        ..BatchOptions::default()
    };
    let input = "id,entity_types,size.staff,size.turnover_eur,size.balance_sheet_eur\n\
                 \"a,[],1,1,1\nb,[],2,1,1\n\"c\",[],3,1,1\nd,[],4,1,1\n";
    let (out, summary) = run(input, &options);
    assert_eq!((summary.records, summary.errors), (2, 1), "{out}");
    assert!(
        out.contains("a quote opened in it is closed only on a later line"),
        "{out}"
    );
    // A quote opened in the header and never closed takes the whole input.
    let reader: Box<dyn std::io::BufRead + Send> =
        Box::new(std::io::Cursor::new(b"\"id,size.staff\na,1\n".to_vec()));
    let error = run_batch(compiled(), reader, &mut Vec::new(), &options, &mut |_| {}).unwrap_err();
    assert!(
        error.message.contains("header runs over several lines"),
        "{}",
        error.message
    );
}

#[test]
fn a_csv_value_given_whole_and_by_field_is_an_error_in_either_order() {
    let options = BatchOptions {
        input: InputFormat::Csv,
        ..BatchOptions::default()
    };
    let whole = r#""{""staff"":1,""turnover_eur"":1,""balance_sheet_eur"":1}""#;
    for (header, cells) in [
        (
            "id,size.staff,size.turnover_eur,size.balance_sheet_eur,size",
            format!("a,300,1,1,{whole}"),
        ),
        (
            "id,size,size.staff,size.turnover_eur,size.balance_sheet_eur",
            format!("a,{whole},300,1,1"),
        ),
    ] {
        let (out, summary) = run(&format!("{header}\n{cells}\n"), &options);
        assert_eq!(summary.errors, 1, "{header}: {out}");
        assert!(out.contains("both give `size.staff`"), "{out}");
        // The row's id is known, and the error record carries it.
        let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(line["id"], "a", "{out}");
    }
}

#[test]
fn json_lines_read_as_an_array_fail_the_batch_as_a_wrong_flag_does() {
    // Their records cannot be counted, let alone evaluated: no output, and the
    // error says which flag to give.
    let input = format!("{GOOD}\n{GOOD}\n");
    let options = BatchOptions {
        input: InputFormat::Json,
        ..BatchOptions::default()
    };
    let mut out = Vec::new();
    let reader: Box<dyn std::io::BufRead + Send> =
        Box::new(std::io::Cursor::new(input.into_bytes()));
    let error = run_batch(compiled(), reader, &mut out, &options, &mut |_| {}).unwrap_err();
    assert!(
        error.message.contains("not a JSON array") && error.message.contains("--input jsonl"),
        "{}",
        error.message
    );
    assert!(out.is_empty());
}

#[test]
fn entries_that_cannot_be_read_are_not_repeats_of_each_other() {
    let input = r#"{"id": "x", "entity_types": ["I.99", "I.98"], "size": {"staff": 1, "turnover_eur": 1, "balance_sheet_eur": 1}}"#;
    let (out, _) = run(input, &BatchOptions::default());
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let kinds: Vec<&str> = (line["error"]["details"].as_array().unwrap().iter())
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["unknown_entry", "unknown_entry"], "{line}");
}

#[test]
fn ids_are_echoed_as_written() {
    // The id is the key results are joined on: two ids a float cannot tell apart
    // stay apart, and an error record carries the id as a result line does.
    let input = [
        r#"{"id": 12345678901234567890123, "size": {"staff": 1, "turnover_eur": 1, "balance_sheet_eur": 1}}"#,
        r#"{"id": 12345678901234567890124, "size": {"staff": 1, "turnover_eur": 1, "balance_sheet_eur": 1}}"#,
        r#"{"id": 1e3, "size": null}"#,
    ]
    .join("\n");
    let (out, _) = run(&input, &BatchOptions::default());
    let ids: Vec<serde_json::Value> = (out.lines())
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].clone())
        .collect();
    assert_eq!(
        ids,
        ["12345678901234567890123", "12345678901234567890124", "1e3"]
    );

    let csv = "id,size.staff,size.turnover_eur,size.balance_sheet_eur\n1.10,1,1,1\n1.1,1,1,1\nnull,1,1,1\n";
    let options = BatchOptions {
        input: InputFormat::Csv,
        ..BatchOptions::default()
    };
    let (out, _) = run(csv, &options);
    let ids: Vec<serde_json::Value> = (out.lines())
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].clone())
        .collect();
    assert_eq!(ids, ["1.10", "1.1", "null"]);
}

#[test]
fn numbers_are_read_digit_for_digit_not_through_floats() {
    // 249.99999999999999999 persons is below the 250 of a large enterprise (Racc.
    // 2003/361/CE, allegato, art. 2): through a float it would be 250.
    let record = |id: &str, staff: &str| {
        format!(
            r#"{{"id": "{id}", "entity_types": ["I.6.1"], "size": {{"staff": {staff}, "turnover_eur": 10000000, "balance_sheet_eur": 10000000}}}}"#
        )
    };
    let input = [
        record("number", "249.99999999999999999"),
        record("text", "\"249.99999999999999999\""),
        record("long", "12345678901234567890123"),
        record("too-precise", "0.12345678901234567890123456789012"),
        // With an exponent, as digits too: through a float these are 250
        // persons (large) and 0; no decimal holds the last.
        record("exponent", "2.4999999999999999999e2"),
        record("tiny", "1e-400"),
        record("huge", "1e400"),
    ]
    .join("\n");
    let (out, _) = run(&input, &BatchOptions::default());
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for line in &lines[..2] {
        assert_eq!(line["size_class"], "medium", "{line}");
        assert_eq!(line["classification"], "important", "{line}");
    }
    assert_eq!(lines[2]["size_class"], "large");
    let detail = &lines[3]["error"]["details"][0];
    assert_eq!(detail["kind"], "out_of_range", "{detail}");
    assert_eq!(lines[3]["error"]["details"].as_array().unwrap().len(), 1);
    assert!(
        detail["message"].as_str().unwrap().starts_with("0.1234"),
        "{detail}"
    );

    assert_eq!(lines[4]["size_class"], "medium", "{}", lines[4]);
    for (line, written) in lines[5..].iter().zip(["1e-400", "1e400"]) {
        let detail = &line["error"]["details"][0];
        assert_eq!(detail["kind"], "out_of_range", "{line}");
        assert_eq!(detail["path"], "$.size.staff", "{line}");
        let message = detail["message"].as_str().unwrap();
        assert!(message.contains(written), "{message}");
    }

    // The same in a CSV cell.
    let csv = "id,entity_types,size.staff,size.turnover_eur,size.balance_sheet_eur\n\
               c,\"[\"\"I.6.1\"\"]\",60,50000000.000000001,50000000\n\
               d,\"[\"\"I.6.1\"\"]\",2.4999999999999999999e2,1e7,1E7\n\
               e,\"[\"\"I.6.1\"\"]\",1e400,1,1\n";
    let options = BatchOptions {
        input: InputFormat::Csv,
        ..BatchOptions::default()
    };
    let (out, _) = run(csv, &options);
    let lines: Vec<serde_json::Value> = (out.lines())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["size_class"], "large", "{}", lines[0]);
    assert_eq!(lines[1]["size_class"], "medium", "{}", lines[1]);
    let detail = &lines[2]["error"]["details"][0];
    assert_eq!(
        (&detail["kind"], &detail["path"]),
        (
            &serde_json::json!("out_of_range"),
            &serde_json::json!("$.size.staff")
        ),
        "{detail}"
    );

    // And inside a cell that holds JSON: a share just under 25% is no partner
    // (Racc. 2003/361/CE, allegato, art. 3, par. 2), whatever its size.
    let csv = "id,entity_types,partners,size.staff,size.turnover_eur,size.balance_sheet_eur\n\
               p,\"[\"\"I.6.1\"\"]\",\"[{\"\"share_pct\"\": 24.999999999999999999, \"\"staff\"\": 1000, \
               \"\"turnover_eur\"\": 1, \"\"balance_sheet_eur\"\": 1}]\",20,1,1\n";
    let (out, _) = run(csv, &options);
    let line: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(line["size_class"], "small", "{line}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Order and count are the input's, with one thread or several, any chunk
    /// size; and each record's result is the one it has alone (a chunk of one
    /// record), though a worker reads many records before it evaluates them:
    /// records of other shapes, bad ones among them.
    #[test]
    fn order_and_count_survive_parallelism(picks in prop::collection::vec(0usize..39, 0..300), chunk in 1usize..150, jobs in 2usize..5) {
        let lines = varied_lines();
        let input: Vec<String> = picks.iter().enumerate().map(|(i, p)| lines[*p].replacen("\"id\": \"", &format!("\"id\": \"{i}-"), 1)).collect();
        let input = input.join("\n");
        let one = run(&input, &BatchOptions { jobs: 1, chunk: Some(chunk), ..BatchOptions::default() });
        let many = run(&input, &BatchOptions { jobs, chunk: Some(chunk), ..BatchOptions::default() });
        let alone = run(&input, &BatchOptions { jobs: 1, chunk: Some(1), ..BatchOptions::default() });
        prop_assert_eq!(one.0.lines().count(), picks.len());
        prop_assert_eq!(&one.0, &many.0);
        prop_assert_eq!(&one.0, &alone.0);
        prop_assert_eq!(&one.1, &many.1);
        for (i, line) in one.0.lines().enumerate() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            prop_assert_eq!(v["line"].as_u64(), Some(i as u64 + 1));
        }
    }
}

#[test]
fn jsonl_lines_keep_their_numbers_through_blank_lines_crlf_and_bad_bytes() {
    let mut input = Vec::new();
    input.extend_from_slice(GOOD.as_bytes());
    input.extend_from_slice(b"\r\n\r\n   \n");
    input.extend_from_slice(b"{\"id\": \"bad-\xff-utf8\"}\r\n");
    input.extend_from_slice(GOOD.as_bytes()); // the last line, without a newline
    let mut out = Vec::new();
    let reader: Box<dyn std::io::BufRead + Send> = Box::new(std::io::Cursor::new(input));
    let options = BatchOptions {
        chunk: Some(2),
        ..BatchOptions::default()
    };
    let summary = run_batch(compiled(), reader, &mut out, &options, &mut |_| {}).unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!((summary.records, summary.errors), (3, 1));
    let numbers: Vec<u64> = lines.iter().map(|l| l["line"].as_u64().unwrap()).collect();
    assert_eq!(numbers, [1, 4, 5]);
    assert_eq!(lines[0]["in_scope"], true);
    // Not read with replacement characters: the id would no longer be the sender's.
    assert_eq!(lines[1]["id"], serde_json::Value::Null);
    assert_eq!(lines[1]["error"]["kind"], "unreadable");
    let message = lines[1]["error"]["message"].as_str().unwrap();
    assert!(message.contains("not valid UTF-8"), "{message}");
    assert_eq!(lines[2]["in_scope"], true);
}

/// Gives its bytes, then fails: a disk or a pipe that breaks mid-file.
struct BreaksAfter(std::io::Cursor<Vec<u8>>);

impl std::io::Read for BreaksAfter {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.0.read(buf)? {
            0 => Err(std::io::Error::other("the input broke")),
            n => Ok(n),
        }
    }
}

/// Gives one line a read, as a producer that writes a record now and then.
struct LineAtATime(std::collections::VecDeque<Vec<u8>>);

impl std::io::Read for LineAtATime {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let Some(line) = self.0.pop_front() else {
            return Ok(0);
        };
        buf[..line.len()].copy_from_slice(&line);
        Ok(line.len())
    }
}

#[test]
fn a_record_is_evaluated_when_it_comes_not_when_a_chunk_is_full() {
    // Each record arrives alone (the next read would wait for the producer):
    // its result is written then, not after 512 records have come. A line cut
    // between two reads waits for its end.
    let halves = GOOD.split_at(20);
    let pieces = [
        format!("{GOOD}\n"),
        halves.0.to_string(),
        format!("{}\n", halves.1),
        format!("{GOOD}\n"),
    ];
    let reader = LineAtATime(pieces.iter().map(|p| p.clone().into_bytes()).collect());
    let reader: Box<dyn std::io::BufRead + Send> = Box::new(std::io::BufReader::new(reader));
    let mut written_after_each_chunk = Vec::new();
    let mut out = Vec::new();
    let summary = run_batch(
        compiled(),
        reader,
        &mut out,
        &BatchOptions::default(),
        &mut |n| written_after_each_chunk.push(n),
    )
    .unwrap();
    assert_eq!(summary.records, 3);
    assert_eq!(written_after_each_chunk, [1, 2, 3]);
    let lines: Vec<u64> = (String::from_utf8(out).unwrap().lines())
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["line"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(lines, [1, 2, 3]);
}

#[test]
fn records_read_before_the_input_breaks_are_still_written() {
    let input = format!("{GOOD}\n{GOOD}\n{GOOD}\n");
    let reader: Box<dyn std::io::BufRead + Send> = Box::new(std::io::BufReader::new(BreaksAfter(
        std::io::Cursor::new(input.into_bytes()),
    )));
    let mut out = Vec::new();
    let options = BatchOptions::default();
    let result = run_batch(compiled(), reader, &mut out, &options, &mut |_| {});
    let error = result.expect_err("a broken input is an error");
    assert!(
        error.message.contains("the input broke"),
        "{}",
        error.message
    );
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), 3);
    // What was written is summed up, for the summary printed before the error.
    assert_eq!(error.summary.map(|s| s.records), Some(3));
}

/// Takes `room` bytes, then fails with `kind`: a full disk, or a pipe whose
/// reader has gone.
struct FailsAfter {
    room: usize,
    kind: std::io::ErrorKind,
}

impl std::io::Write for FailsAfter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() > self.room {
            return Err(std::io::Error::new(self.kind, "no space left"));
        }
        self.room -= buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failing_output_ends_the_batch_with_an_error() {
    // Far more records than the channels hold, so that the reader is still
    // sending when the writer fails: it must stop too, not wait for ever.
    let input = format!("{GOOD}\n").repeat(20_000);
    for jobs in [1, 2] {
        let input = input.clone();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let reader: Box<dyn std::io::BufRead + Send> =
                Box::new(std::io::Cursor::new(input.into_bytes()));
            let options = BatchOptions {
                jobs,
                chunk: Some(64),
                ..BatchOptions::default()
            };
            let mut out = FailsAfter {
                room: 10_000,
                kind: std::io::ErrorKind::Other,
            };
            let result = run_batch(compiled(), reader, &mut out, &options, &mut |_| {});
            let result = result.map(|s| s.records);
            let _ = done_tx.send(result.map_err(|e| (e.message, e.output_failed)));
        });
        let result = done_rx
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("the batch ends");
        let (error, output_failed) = result.expect_err("a failing output is an error");
        assert!(error.contains("no space left"), "{error}");
        assert!(output_failed, "{error}");
    }
}

#[test]
fn a_key_given_twice_is_an_error_not_the_last_value() {
    let record = r#"{"id": "twice", "entity_types": ["I.1.a.1"], "size": {"staff": 10, "turnover_eur": 1, "balance_sheet_eur": 1}, "size": {"staff": 300, "turnover_eur": 1, "balance_sheet_eur": 1, "staff": 3}}"#;
    let (out, summary) = run(record, &BatchOptions::default());
    assert_eq!((summary.records, summary.errors), (1, 1));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let details = v["error"]["details"].as_array().unwrap();
    let paths: Vec<&str> = (details.iter())
        .filter(|d| d["kind"] == "duplicate_field")
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["$.size", "$.size.staff"]);
}

#[test]
fn a_record_giving_its_id_twice_is_reported_under_the_first() {
    let record = r#"{"id": "first", "id": "second", "entity_types": ["I.1.a.1"], "size": {"staff": 10, "turnover_eur": 1, "balance_sheet_eur": 1}}"#;
    let (out, summary) = run(record, &BatchOptions::default());
    assert_eq!((summary.records, summary.errors), (1, 1));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["id"], "first");
    assert_eq!(v["error"]["details"][0]["kind"], "duplicate_field");
    assert_eq!(v["error"]["details"][0]["path"], "$.id");
}

#[test]
fn a_closed_output_stops_the_batch_and_says_so_apart_from_other_errors() {
    let reader: Box<dyn std::io::BufRead + Send> =
        Box::new(std::io::Cursor::new(mixed().into_bytes()));
    let options = BatchOptions::default();
    let mut out = FailsAfter {
        room: 1_000,
        kind: std::io::ErrorKind::BrokenPipe,
    };
    let error = run_batch(compiled(), reader, &mut out, &options, &mut |_| {}).unwrap_err();
    assert!(error.output_closed, "{}", error.message);
    // What was handed to the output: the first chunk, which did not fit.
    assert!(error.summary.is_some_and(|s| s.records > 0));
    assert!(
        error.message.contains("cannot write the results"),
        "{}",
        error.message
    );
}

#[test]
fn a_reader_that_stops_early_is_not_an_error_of_the_batch() {
    // `lexnis batch ... | head -1`: the results' reader goes after one line; the
    // batch stops quietly, as `generate` and `eval` do, with 0, or with 1 if a
    // record written before had failed.
    let catalogue = lexnis::generate::Catalogue::from_program(&compiled().program).unwrap();
    let mut population = Vec::new();
    lexnis::generate::generate(&catalogue, 20_000, 3, &mut population).unwrap();
    for (first, status) in [("", 0), ("not json\n", 1)] {
        let path = std::env::temp_dir().join(format!("lexnis-head-{}.jsonl", std::process::id()));
        std::fs::write(&path, [first.as_bytes(), &population].concat()).unwrap();
        let (first_line, output) = read_one_line_of(&path);
        std::fs::remove_file(&path).ok();
        assert!(first_line.starts_with("{\"line\":1,"), "{first_line}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(status), "{stderr}");
        assert!(stderr.is_empty(), "{stderr}");
    }
}

/// Runs `lexnis batch` over `path`, reads the first line of its output, closes
/// it, and waits for the batch to end.
fn read_one_line_of(path: &std::path::Path) -> (String, std::process::Output) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lexnis"))
        .args(["batch", "--as-of", "2025-06-01", "--facts"])
        .arg(path)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("lexnis runs");
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    (first, child.wait_with_output().expect("lexnis ends"))
}

/// The CSV cells of each row as JSON lines' values: `(column, value)` by row.
fn csv_as_json(out: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    let headers = reader.headers().unwrap().clone();
    (reader.records())
        .map(|row| {
            let row = row.unwrap();
            (headers.iter().zip(row.iter()))
                .map(|(name, cell)| {
                    let value = match cell {
                        "" => serde_json::Value::Null,
                        _ => serde_json::from_str(cell)
                            .unwrap_or_else(|_| serde_json::Value::String(cell.into())),
                    };
                    (name.to_string(), value)
                })
                .collect()
        })
        .collect()
}

/// A CSV row carries what the JSON line of the same record carries, its trace
/// (compact or full) included: the cell of each column parses to the line's value.
#[test]
fn csv_output_carries_the_json_lines_values_and_traces() {
    let input = format!("{GOOD}\n{}\n", GOOD.replace("300", "10"));
    for trace in [TraceMode::None, TraceMode::Compact, TraceMode::Full] {
        let options = |output| BatchOptions {
            output,
            trace,
            ..BatchOptions::default()
        };
        let (lines, _) = run(&input, &options(OutputFormat::Jsonl));
        let (csv, _) = run(&input, &options(OutputFormat::Csv));
        let rows = csv_as_json(&csv);
        assert_eq!(rows.len(), 2);
        for (line, row) in lines.lines().zip(rows) {
            let line: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(line).unwrap();
            assert_eq!(row.contains_key("trace"), trace != TraceMode::None);
            for (column, cell) in row {
                let expected = line.get(&column).cloned().unwrap_or_default();
                // A text cell that reads as JSON (a date, a number as text) is
                // the line's string.
                match (&expected, &cell) {
                    (serde_json::Value::String(s), other) if other != &expected => {
                        assert_eq!(&other.to_string(), s, "{column}")
                    }
                    _ => assert_eq!(cell, expected, "{column} ({trace:?})"),
                }
            }
        }
    }
}

/// A CSV row is read as the JSON line its cells make: every kind of bad cell
/// gives the error record a JSON line would, and numbers are read digit for
/// digit, however long.
#[test]
fn csv_rows_are_read_as_the_json_lines_their_cells_make() {
    let input = "id,entity_types,size.staff,size.turnover_eur,size.balance_sheet_eur,partners\n\
        ok,\"[\"\"I.1.a.1\"\"]\",300,1,1,\n\
        missing,\"[\"\"I.1.a.1\"\"]\",300,1,,\n\
        wrong,\"[\"\"I.1.a.1\"\"]\",many,1,1,\n\
        unknown,\"[\"\"I.1.a.1\"\"]\",3,1,1,\"[{\"\"colour\"\":\"\"red\"\"}]\"\n\
        range,\"[\"\"I.1.a.1\"\"]\",-1,1,1,\n\
        dup-key,\"[\"\"I.1.a.1\"\"]\",3,1,1,\"[{\"\"share_pct\"\":30,\"\"share_pct\"\":40}]\"\n\
        long,\"[\"\"I.1.a.1\"\"]\",3,12345678901234567890123,1,\n\
        text-list,I.1.a.1,3,1,1,\n\
        spaces,\"[\"\"I.1.a.1\"\"]\", 300 ,1,1,\n";
    let options = BatchOptions {
        input: InputFormat::Csv,
        ..BatchOptions::default()
    };
    let (out, summary) = run(input, &options);
    assert_eq!((summary.records, summary.errors), (9, 6));
    let outcome = |l: &str| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let detail = &v["error"]["details"][0];
        let what = match detail["kind"].as_str() {
            Some(kind) => format!("{kind} at {}", detail["path"].as_str().unwrap()),
            None => format!("{} {}", v["size_class"], v["classification"]),
        };
        format!("{}: {what}", v["id"].as_str().unwrap())
    };
    let outcomes: Vec<String> = out.lines().map(outcome).collect();
    assert_eq!(
        outcomes,
        [
            "ok: \"large\" \"essential\"",
            "missing: missing_field at $.size.balance_sheet_eur",
            "wrong: wrong_type at $.size.staff",
            "unknown: unknown_field at $.partners[0].colour",
            "range: out_of_range at $.size.staff",
            "dup-key: wrong_type at $.partners",
            "long: \"micro\" null",
            "text-list: wrong_type at $.entity_types",
            "spaces: \"large\" \"essential\"",
        ]
    );
    let missing: serde_json::Value = serde_json::from_str(out.lines().nth(1).unwrap()).unwrap();
    assert_eq!(
        missing["error"]["details"][0]["help"],
        "add a column `size.balance_sheet_eur` to the header, or fill its cell in this row"
    );
}

/// A column that names no fact, nor a field of one, is an error of the
/// header, told once before any row is read (every row would fail with it,
/// or, where its cell is empty, pass as if it were not there).
#[test]
fn a_csv_column_the_rules_do_not_declare_is_an_error_of_the_header() {
    let options = BatchOptions {
        input: InputFormat::Csv,
        ..BatchOptions::default()
    };
    let header_error = |header: &str| {
        let input = format!("{header}\na,[],1,1,1\n");
        let reader: Box<dyn std::io::BufRead + Send> =
            Box::new(std::io::Cursor::new(input.into_bytes()));
        let mut out = Vec::new();
        let error = run_batch(compiled(), reader, &mut out, &options, &mut |_| {}).unwrap_err();
        assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
        error.message
    };
    let messages = [
        "id,entity_types,size.staff,size.turnover_eur,colour",
        "id,entity_types,size.staf,size.turnover_eur,size.balance_sheet_eur",
        "id,entity_type,size.staff,size.turnover_eur,size.balance_sheet_eur",
        "id,critical_entity.level,size.staff,size.turnover_eur,size.balance_sheet_eur",
    ]
    .map(header_error);
    insta::assert_snapshot!(messages.join("\n"));
}

/// A header padded for reading names its columns as a bare one does: its
/// cells are trimmed, as the rows' are.
#[test]
fn a_csv_header_padded_with_spaces_names_the_same_columns() {
    let input = "id , entity_types,\tsize.staff , size.turnover_eur,size.balance_sheet_eur \n\
                 p,\"[\"\"I.1.a.1\"\"]\",300,1,1\n";
    let options = BatchOptions {
        input: InputFormat::Csv,
        ..BatchOptions::default()
    };
    let (out, summary) = run(input, &options);
    assert_eq!((summary.records, summary.errors), (1, 0), "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim_end()).unwrap();
    assert_eq!(
        (v["id"].as_str(), v["size_class"].as_str()),
        (Some("p"), Some("large"))
    );
}

/// The errors of a CSV row come in the header's order, a nested object's
/// columns where the first of them is.
#[test]
fn a_csv_rows_errors_follow_its_header() {
    let input =
        "id,size.staff,entity_types,critical_entity,size.turnover_eur,size.balance_sheet_eur\n\
        x,many,I.1.a.1,maybe,1,y\n";
    let options = BatchOptions {
        input: InputFormat::Csv,
        ..BatchOptions::default()
    };
    let (out, summary) = run(input, &options);
    assert_eq!((summary.records, summary.errors), (1, 1));
    let v: serde_json::Value = serde_json::from_str(out.trim_end()).unwrap();
    let paths: Vec<&str> = (v["error"]["details"].as_array().unwrap().iter())
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "$.size.staff",
            "$.size.balance_sheet_eur",
            "$.entity_types",
            "$.critical_entity"
        ]
    );
}

/// `lexnis batch` with these arguments after `--as-of 2025-06-01`.
fn lexnis_batch(args: &[&std::ffi::OsStr]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_lexnis"))
        .args(["batch", "--as-of", "2025-06-01"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("lexnis runs")
}

#[test]
fn the_formats_go_by_the_files_names_unless_given() {
    let dir = std::env::temp_dir().join(format!("lexnis-formats-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = "id,entity_types,size.staff,size.turnover_eur,size.balance_sheet_eur\n\
               c,\"[\"\"I.6.1\"\"]\",300,1,1\n";
    let (facts, results) = (dir.join("entities.CSV"), dir.join("results.csv"));
    std::fs::write(&facts, csv).unwrap();
    let output = lexnis_batch(&[
        "--facts".as_ref(),
        facts.as_os_str(),
        "--out".as_ref(),
        results.as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let written = std::fs::read_to_string(&results).unwrap();
    assert!(written.starts_with("line,id,error,in_scope,"), "{written}");
    assert!(
        written.lines().nth(1).unwrap().starts_with("2,c,,true,"),
        "{written}"
    );
    // A flag says otherwise: JSON lines into the .csv file.
    let output = lexnis_batch(&[
        "--facts".as_ref(),
        facts.as_os_str(),
        "--out".as_ref(),
        results.as_os_str(),
        "--output".as_ref(),
        "jsonl".as_ref(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let written = std::fs::read_to_string(&results).unwrap();
    assert!(written.starts_with("{\"line\":2,\"id\":\"c\""), "{written}");
    // A .json file is an array if it opens with `[`, else JSON lines.
    let lines = dir.join("lines.json");
    let array = dir.join("array.json");
    std::fs::write(&lines, format!("{GOOD}\n{GOOD}\n")).unwrap();
    std::fs::write(&array, format!("\n [{GOOD},\n{GOOD}]\n")).unwrap();
    for facts in [&lines, &array] {
        let output = lexnis_batch(&["--facts".as_ref(), facts.as_os_str()]);
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 2);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_is_an_error_with_no_summary_of_results_not_written() {
    let facts = std::env::temp_dir().join(format!("lexnis-full-{}.jsonl", std::process::id()));
    std::fs::write(&facts, format!("{GOOD}\n{GOOD}\n")).unwrap();
    let output = lexnis_batch(&[
        "--facts".as_ref(),
        facts.as_os_str(),
        "--out".as_ref(),
        "/dev/full".as_ref(),
    ]);
    std::fs::remove_file(&facts).ok();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot write the results"), "{stderr}");
    assert!(stderr.contains("the output is incomplete"), "{stderr}");
    assert!(!stderr.contains("record(s) read"), "{stderr}");
}

#[test]
fn jobs_that_are_not_a_number_of_threads_are_a_wrong_flag_saying_what_to_give() {
    for jobs in ["0", "-1", "1025", "two", ""] {
        let output = lexnis_batch(&[
            "--facts".as_ref(),
            "-".as_ref(),
            "--jobs".as_ref(),
            jobs.as_ref(),
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "--jobs {jobs:?}: {stderr}");
        assert!(
            stderr.contains(&format!("invalid value '{jobs}' for '--jobs <N>'")),
            "{stderr}"
        );
        assert!(
            stderr.contains("give 1 to 1024 (default: one per core)"),
            "{stderr}"
        );
    }
}

#[test]
fn a_record_that_is_not_json_says_what_it_looks_like() {
    let input = format!("{GOOD}\n\u{feff}{GOOD}\nid,size.staff,size.turnover_eur\n[{GOOD}]\n");
    let (out, summary) = run(&input, &BatchOptions::default());
    assert_eq!((summary.records, summary.errors), (4, 3));
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let message = |i: usize| lines[i]["error"]["message"].as_str().unwrap().to_string();
    assert!(message(1).contains("byte-order mark"), "{}", message(1));
    assert!(message(2).contains("--input csv"), "{}", message(2));
    let help = lines[3]["error"]["details"][0]["help"].as_str().unwrap();
    assert!(help.contains("--input json"), "{help}");
}

/// JSON lines that are not one record a line say what the input looks like
/// and what to do: an array, a record written over several lines, CSV.
#[test]
fn a_jsonl_input_of_another_shape_says_what_it_looks_like() {
    let hints = [
        ("[{\"id\": 1},", "opens a JSON array"),
        ("{", "piece of a record written over several lines"),
        (
            "  \"id\": \"x\",",
            "piece of a record written over several lines",
        ),
        ("}", "piece of a record written over several lines"),
        ("id,size.staff", "reads like CSV"),
    ];
    for (line, hint) in hints {
        let (out, summary) = run(&format!("{line}\n"), &BatchOptions::default());
        assert_eq!(summary.errors, 1, "{line}");
        assert!(out.contains(hint), "{line}: {out}");
    }
}

#[test]
fn a_record_written_over_two_lines_is_two_error_records_not_one_record() {
    let (first, second) = GOOD.split_at(GOOD.find("\"size\"").unwrap());
    let input = format!("{GOOD}\n{first}\n{second}\n{GOOD} {GOOD}\n{GOOD}\n");
    for jobs in [1, 2] {
        let options = BatchOptions {
            jobs,
            chunk: Some(2),
            ..BatchOptions::default()
        };
        let (out, summary) = run(&input, &options);
        let lines = json_lines(&out);
        assert_eq!((summary.records, summary.errors), (5, 3), "{out}");
        let kinds: Vec<(u64, &str)> = (lines.iter())
            .map(|l| {
                (
                    l["line"].as_u64().unwrap(),
                    l["error"]["kind"].as_str().unwrap_or("-"),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                (1, "-"),
                (2, "not_json"),
                (3, "not_json"),
                (4, "not_json"),
                (5, "-")
            ]
        );
    }
}

#[test]
fn an_id_beyond_ascii_is_echoed_as_written() {
    let id = "ente-\u{e0}-\u{1F600}";
    let (out, summary) = run(&GOOD.replacen("ok-1", id, 1), &BatchOptions::default());
    let line: serde_json::Value = serde_json::from_str(out.trim_end()).unwrap();
    assert_eq!((summary.records, summary.errors), (1, 0));
    assert_eq!(line["id"], id);
}

/// Gives one record a read, for ever, counting its reads.
struct Endless(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl std::io::Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let line = format!("{GOOD}\n");
        let n = line.len().min(buf.len());
        buf[..n].copy_from_slice(&line.as_bytes()[..n]);
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

#[test]
fn workers_stop_reading_an_endless_input_once_the_output_fails() {
    let reads = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let counted = std::sync::Arc::clone(&reads);
    std::thread::spawn(move || {
        let reader: Box<dyn std::io::BufRead + Send> =
            Box::new(std::io::BufReader::new(Endless(counted)));
        let options = BatchOptions {
            jobs: 4,
            ..BatchOptions::default()
        };
        let mut out = FailsAfter {
            room: 0,
            kind: std::io::ErrorKind::BrokenPipe,
        };
        let result = run_batch(compiled(), reader, &mut out, &options, &mut |_| {});
        let _ = done_tx.send(result.map(|s| s.records).map_err(|e| e.output_failed));
    });
    let result = done_rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("the batch ends");
    assert_eq!(result, Err(true), "the output's failure ends the batch");
    // A chunk a read (the input has one record at hand at a time), and the
    // workers take no more than the window lets out: 6 × 4 + 2 chunks past
    // the one the writer failed on, and one more read by a worker that had
    // gone past the window check before it closed.
    let reads = reads.load(std::sync::atomic::Ordering::Relaxed);
    assert!(reads <= 40, "{reads} reads");
}
