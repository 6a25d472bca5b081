//! What a decider decides: the results of one facts record, and its trace,
//! turned into JSON only when asked.

use super::Rules;
use crate::date::Date;
use crate::render::ResultRecord;
use crate::trace::{AppliedList, Step, TraceView};
use crate::value::Value;
use serde_json::Value as Json;

/// The decision on one facts record: every result, and the trace asked for.
/// It serialises (`serde_json::to_writer(out, &decision)`, or any serde
/// format) as the JSON value `lexnis eval --format json` prints: `id`,
/// `as_of`, every result by its key, `policy_versions`, `warnings` and, if
/// asked for, `trace` (see docs/schema/result.schema.json). Nothing is turned
/// into JSON before it is asked for.
#[derive(Debug, Clone)]
pub struct Decision<'r> {
    pub(super) rules: &'r Rules,
    pub(super) id: Option<String>,
    /// By result index, as the rules declare them.
    pub(super) results: Vec<Value>,
    pub(super) trace: Option<DecisionTrace>,
}

/// Decisions of one [`Rules`] value are equal if they hold the same id,
/// results and trace. Decisions of two `Rules` values are never equal, even
/// of the same rule files: compare their [`Decision::to_json`].
impl PartialEq for Decision<'_> {
    fn eq(&self, other: &Decision<'_>) -> bool {
        std::ptr::eq(self.rules, other.rules)
            && (&self.id, &self.results, &self.trace) == (&other.id, &other.results, &other.trace)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum DecisionTrace {
    /// The indices of the rules that applied, in declaration order.
    Applied(Vec<u32>),
    Steps(Vec<Step>),
}

impl Decision<'_> {
    /// The entity's id, as its facts gave it (`None` if they gave none).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The date the rules were applied on.
    pub fn as_of(&self) -> Date {
        self.rules.as_of
    }

    /// A result by its key (`"classification"`, as [`Rules::result_keys`]
    /// lists them), as the document holds it; `None` for a key the rules do
    /// not declare.
    pub fn get(&self, key: &str) -> Option<Json> {
        let c = &self.rules.compiled;
        let i = c.results.iter().position(|r| r.key == key)?;
        Some(crate::value::to_json(
            &c.program,
            &c.results[i].ty,
            &self.results[i],
        ))
    }

    /// The trace asked for, as the document holds it: a list of `{rule,
    /// citation}` (compact) or of steps (full); `None` if the decider was
    /// made without one.
    pub fn trace(&self) -> Option<Json> {
        serde_json::to_value(self.trace_view()?).ok()
    }

    /// The whole document.
    pub fn to_json(&self) -> Json {
        serde_json::to_value(self).unwrap_or(Json::Null)
    }

    /// Appends the document to `out` as one line of JSON, and a newline: the
    /// bytes `serde_json::to_writer` writes for it, by the writer `lexnis
    /// batch` writes its lines with, which is faster (docs/performance.md).
    pub fn write_json_line(&self, out: &mut Vec<u8>) {
        let rules = self.rules;
        let trace = match &self.trace {
            None => None,
            Some(DecisionTrace::Applied(applied)) => Some(applied.as_slice()),
            Some(DecisionTrace::Steps(_)) => {
                // Every step through the serialiser, as the batch writes them.
                let _ = serde_json::to_writer(&mut *out, self);
                out.push(b'\n');
                return;
            }
        };
        let results = |i: usize| &self.results[i];
        let id = self.id.as_deref();
        (rules.lines).write_document(out, &rules.compiled, None, id, results, trace);
        out.push(b'\n');
    }

    fn trace_view(&self) -> Option<TraceView<'_>> {
        Some(match self.trace.as_ref()? {
            DecisionTrace::Steps(steps) => TraceView::Steps(steps),
            DecisionTrace::Applied(applied) => TraceView::Listed(AppliedList {
                entries: &self.rules.applied_rules,
                applied,
            }),
        })
    }
}

impl serde::Serialize for Decision<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let record = ResultRecord {
            header: &self.rules.header,
            compiled: &self.rules.compiled,
            id: self.id.as_deref(),
            as_of: self.rules.as_of,
            values: &self.results,
            line: None,
            trace: self.trace_view(),
            // The header as values, not as JSON text: any serde format, and
            // an indenting serialiser indents it.
            compact: false,
        };
        record.serialize(s)
    }
}
