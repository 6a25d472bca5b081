//! Loading rule files and running the compile stages in order. Entry point: [`compile`].

use crate::date::Date;
use crate::diagnostic::Diagnostic;
use crate::lower::Compiled;
use crate::resolve::ParsedFile;
use crate::source::{FileId, SourceMap};
use std::path::{Path, PathBuf};

mod bundled {
    include!(concat!(env!("OUT_DIR"), "/bundled.rs"));
}

/// The rule files of a policy set, not yet parsed.
#[derive(Debug, Clone, Default)]
pub struct PolicySource {
    pub sources: SourceMap,
    /// Each file with the folder that groups it into an act version.
    pub files: Vec<(FileId, String)>,
}

/// Rule files that could not be read from disk.
#[derive(Debug)]
pub struct LoadError {
    pub path: PathBuf,
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.path.as_os_str().is_empty() {
            true => f.write_str(&self.message),
            false => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// A file found twice among `files` (by its canonical path), if any.
fn given_twice(files: &[PathBuf]) -> Option<PathBuf> {
    let mut seen = std::collections::HashSet::new();
    let canonical = |f: &PathBuf| std::fs::canonicalize(f).unwrap_or_else(|_| f.clone());
    files.iter().find(|f| !seen.insert(canonical(f))).cloned()
}

impl PolicySource {
    /// The policy set built into the binary from policies/.
    pub fn bundled() -> PolicySource {
        let mut p = PolicySource::default();
        for (path, text) in bundled::BUNDLED {
            p.add(path, text);
        }
        p
    }

    /// Adds one file; its folder is the directory part of `name`. A UTF-8
    /// byte-order mark, which some editors write first, is not part of the text.
    pub fn add(&mut self, name: &str, text: &str) -> FileId {
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
        let folder = Path::new(name)
            .parent()
            .map_or_else(String::new, |p| p.to_string_lossy().into_owned());
        let id = self.sources.add(name, text);
        self.files.push((id, folder));
        id
    }

    /// Every `.law` file under the given paths (files or folders), in a stable order.
    pub fn from_paths(paths: &[PathBuf]) -> Result<PolicySource, LoadError> {
        let mut found = Vec::new();
        for path in paths {
            if path.as_os_str().is_empty() {
                return Err(LoadError {
                    path: path.clone(),
                    message: "an empty name in the list of rule files and folders (a comma at \
                              its start or end, or two together): remove the extra comma"
                        .into(),
                });
            }
            if path.is_dir() {
                collect_law_files(path, &mut found)?;
            } else if path.exists() {
                found.push(path.clone());
            } else {
                return Err(LoadError {
                    path: path.clone(),
                    message: "no such file or folder".into(),
                });
            }
        }
        if found.is_empty() {
            return Err(LoadError {
                path: paths.first().cloned().unwrap_or_default(),
                message: "no .law rule files found here".into(),
            });
        }
        found.sort();
        if let Some(twice) = given_twice(&found) {
            return Err(LoadError {
                path: twice,
                message: "this rule file is given twice (a folder listed twice, or a folder \
                          and one inside it): give each once"
                    .into(),
            });
        }
        let mut p = PolicySource::default();
        for f in found {
            let bytes = std::fs::read(&f).map_err(|e| LoadError {
                path: f.clone(),
                message: e.to_string(),
            })?;
            let text = String::from_utf8(bytes).map_err(|e| LoadError {
                path: f.clone(),
                message: not_utf8(e.as_bytes(), e.utf8_error().valid_up_to()),
            })?;
            p.add(&f.to_string_lossy(), &text);
        }
        Ok(p)
    }
}

impl PolicySource {
    /// The rule files under `policies/` (amendments aside) at a git revision of the
    /// repository that holds the current directory.
    pub fn from_git(rev: &str) -> Result<PolicySource, LoadError> {
        let fail = |message: String| LoadError {
            path: PathBuf::from(rev),
            message,
        };
        let run = |dir: Option<&str>, args: &[&str]| -> Result<String, LoadError> {
            let mut cmd = std::process::Command::new("git");
            if let Some(d) = dir {
                cmd.arg("-C").arg(d);
            }
            let out = cmd
                .args(args)
                .output()
                .map_err(|e| fail(format!("cannot run git: {e}")))?;
            if !out.status.success() {
                return Err(fail(
                    String::from_utf8_lossy(&out.stderr).trim().to_string(),
                ));
            }
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        };
        let top = run(None, &["rev-parse", "--show-toplevel"]).map_err(|_| {
            fail("neither a folder nor a git revision: not inside a git repository".into())
        })?;
        let top = top.trim();
        let git = |args: &[&str]| run(Some(top), args);
        git(&["rev-parse", "--verify", &format!("{rev}^{{commit}}")])
            .map_err(|_| fail("neither a folder nor a git revision of this repository".into()))?;
        let listing = git(&["ls-tree", "-r", "--name-only", rev, "--", "policies"])?;
        let mut p = PolicySource::default();
        for path in listing
            .lines()
            .filter(|l| l.ends_with(".law") && !l.starts_with("policies/amendments/"))
        {
            let text = git(&["show", &format!("{rev}:{path}")])?;
            p.add(&format!("{rev}:{path}"), &text);
        }
        if p.files.is_empty() {
            return Err(fail(
                "no .law files under policies/ at this revision".into(),
            ));
        }
        Ok(p)
    }

    /// A folder, several folders joined with `,`, or a git revision.
    pub fn from_spec(spec: &str) -> Result<PolicySource, LoadError> {
        let paths: Vec<PathBuf> = spec.split(',').map(PathBuf::from).collect();
        if paths.iter().all(|p| p.exists()) {
            return PolicySource::from_paths(&paths);
        }
        let git = PolicySource::from_git(spec);
        if paths.len() == 1 || git.is_ok() {
            return git;
        }
        // A list of folders with one wrong: name it, rather than report the
        // whole list as no git revision.
        let fail = |path: &Path, message: &str| LoadError {
            path: path.to_path_buf(),
            message: message.into(),
        };
        Err(match paths.iter().find(|p| p.as_os_str().is_empty()) {
            Some(_) => fail(
                Path::new(spec),
                "an entry of the list is empty: folders are joined by single commas, \
                 with none at either end",
            ),
            None => fail(
                paths.iter().find(|p| !p.exists()).unwrap_or(&paths[0]),
                "no such folder (in a list joined with `,`, each entry is a folder)",
            ),
        })
    }
}

fn collect_law_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|e| LoadError {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_law_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "law") {
            out.push(path);
        }
    }
    Ok(())
}

/// Which stage stopped the compilation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Parse,
    Resolve,
    Check,
    Lower,
}

/// A policy set that does not compile, with every diagnostic found.
#[derive(Debug, Clone)]
pub struct CompileError {
    pub stage: Stage,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: SourceMap,
}

/// Every diagnostic as `lexnis check` draws it, without colour: each names its
/// file, line and column and says what to do.
impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let options = crate::diagnostic::RenderOptions::default();
        let text = crate::diagnostic::render_all(&self.diagnostics, &self.sources, options);
        f.write_str(text.trim_end())
    }
}

impl std::error::Error for CompileError {}
impl std::error::Error for LoadError {}

/// Parses every file of the source; all files' syntax errors are reported together.
pub fn parse_all(source: &PolicySource) -> Result<Vec<ParsedFile>, CompileError> {
    // Files are independent: they are parsed on every core, each core given about
    // the same number of bytes (largest files first, to the least loaded), and
    // kept in order.
    let text = |id: FileId| -> &str { &source.sources.file(id).text };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(source.files.len().max(1));
    let mut by_size: Vec<usize> = (0..source.files.len()).collect();
    by_size.sort_by_key(|i| std::cmp::Reverse(text(source.files[*i].0).len()));
    let mut shares: Vec<(usize, Vec<usize>)> = vec![(0, Vec::new()); threads];
    for i in by_size {
        let lightest = (0..threads).min_by_key(|t| shares[*t].0).unwrap_or(0);
        shares[lightest].0 += text(source.files[i].0).len();
        shares[lightest].1.push(i);
    }
    let mut results: Vec<Option<_>> = (0..source.files.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (shares.iter())
            .map(|(_, files)| {
                scope.spawn(move || {
                    (files.iter())
                        .map(|i| {
                            let id = source.files[*i].0;
                            (*i, crate::parse::parse_file(id, text(id)))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            let done = h
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            for (i, result) in done {
                results[i] = Some(result);
            }
        }
    });
    let mut parsed = Vec::new();
    let mut diagnostics = Vec::new();
    let results = results
        .into_iter()
        .map(|r| r.expect("every file is given to one thread, which parses it"));
    for ((id, folder), result) in source.files.iter().zip(results) {
        match result {
            Ok(ast) => parsed.push(ParsedFile {
                file: *id,
                folder: folder.clone(),
                ast,
            }),
            Err(e) => diagnostics.extend(e.diagnostics),
        }
    }
    if diagnostics.is_empty() {
        Ok(parsed)
    } else {
        Err(CompileError {
            stage: Stage::Parse,
            diagnostics,
            sources: source.sources.clone(),
        })
    }
}

/// Runs parse, resolve, check and lower for the act versions in force on `as_of`.
pub fn compile(source: &PolicySource, as_of: Date) -> Result<Compiled, CompileError> {
    let parsed = parse_all(source)?;
    compile_parsed(source, &parsed, as_of, None)
}

/// As [`compile`], for files already parsed (to compile one source at several dates).
pub fn compile_parsed(
    source: &PolicySource,
    parsed: &[ParsedFile],
    as_of: Date,
    pin: Option<(&str, &str)>,
) -> Result<Compiled, CompileError> {
    let fail = |stage, diagnostics| CompileError {
        stage,
        diagnostics,
        sources: source.sources.clone(),
    };
    let program = crate::resolve::resolve(source.sources.clone(), parsed, as_of, pin)
        .map_err(|e| fail(Stage::Resolve, e.diagnostics))?;
    let checked = crate::check::check(program).map_err(|e| fail(Stage::Check, e.diagnostics))?;
    crate::lower::lower(checked).map_err(|e| fail(Stage::Lower, e.diagnostics))
}

/// Where a rule file stops being UTF-8, by line and column, and what to do: a
/// file saved as Latin-1 or Windows-1252 has its accented letters as single bytes.
fn not_utf8(bytes: &[u8], valid_up_to: usize) -> String {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return "the file is saved as UTF-16; save it as UTF-8".into();
    }
    let before = &bytes[..valid_up_to];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    format!(
        "line {line}, column {column}: byte 0x{:02X} is not UTF-8 text; save the file as UTF-8 \
         (a file saved as Latin-1 or Windows-1252 writes accented letters as single bytes)",
        bytes[valid_up_to]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_latin_1_letter_is_placed_by_line_and_column() {
        let bytes = b"part of x\n# qualit\xe0\n";
        let e = String::from_utf8(bytes.to_vec()).unwrap_err();
        let message = super::not_utf8(e.as_bytes(), e.utf8_error().valid_up_to());
        assert!(
            message.starts_with("line 2, column 9: byte 0xE0"),
            "{message}"
        );
    }

    #[test]
    fn a_list_of_folders_with_an_empty_name_or_a_file_twice_is_refused_with_what_to_do() {
        use super::PolicySource;
        use std::path::PathBuf;
        let it = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/policies/it"));
        let empty = PolicySource::from_paths(&[it.clone(), PathBuf::new()]).unwrap_err();
        assert!(empty.to_string().starts_with("an empty name"), "{empty}");
        for twice in [it.clone(), it.join("dpcm-221-2024")] {
            let e = PolicySource::from_paths(&[it.clone(), twice]).unwrap_err();
            assert!(e.to_string().contains("is given twice"), "{e}");
        }
        assert!(PolicySource::from_paths(&[it]).is_ok());
    }
}
