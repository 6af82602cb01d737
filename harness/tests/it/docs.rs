//! The README and docs/ stay in step with the CLI: every `gameday <subcommand …>` they
//! name (also written `cargo run [--release] -- <subcommand …>`) is a subcommand of the
//! built binary's `--help`, every `--flag` given with it is in that subcommand's
//! `--help`, and a flag named on its own (`` `--duration-scale 0.1` ``) is a flag of
//! some subcommand. Commands are read from code spans and fenced code blocks; prose is
//! not parsed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Flags of cargo itself that the docs name in code spans of their own.
const CARGO_FLAGS: [&str; 7] = [
    "--release",
    "--workspace",
    "--all-features",
    "--features",
    "--all-targets",
    "--test",
    "--package",
];

/// The CLI as `--help` shows it: subcommand path → the flags it takes and the
/// subcommands under it.
#[derive(Debug, Default)]
struct Cli {
    flags: BTreeMap<Vec<String>, BTreeSet<String>>,
    subs: BTreeMap<Vec<String>, BTreeSet<String>>,
}

impl Cli {
    fn from_binary() -> Cli {
        let mut cli = Cli::default();
        let mut todo = vec![Vec::<String>::new()];
        while let Some(path) = todo.pop() {
            let text = help(&path);
            let (flags, subs) = parse_help(&text);
            for s in &subs {
                let mut p = path.clone();
                p.push(s.clone());
                todo.push(p);
            }
            cli.flags.insert(path.clone(), flags);
            cli.subs.insert(path, subs);
        }
        cli
    }

    fn all_flags(&self) -> BTreeSet<&str> {
        self.flags_under(&[])
    }

    /// The flags of a subcommand path and of every subcommand under it.
    fn flags_under(&self, path: &[String]) -> BTreeSet<&str> {
        self.flags
            .iter()
            .filter(|(p, _)| p.starts_with(path))
            .flat_map(|(_, f)| f.iter().map(String::as_str))
            .collect()
    }
}

fn help(path: &[String]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(path)
        .arg("--help")
        .output()
        .expect("run gameday --help");
    assert!(
        out.status.success(),
        "gameday {} --help failed: {}",
        path.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("help is UTF-8")
}

/// The flags (long names, with `--`) and subcommands of one `--help` text. Option lines
/// are indented at most 6 columns (`  -v, --verbose`, `      --seed <SEED>`); their
/// descriptions deeper, so a flag only mentioned in a description does not count.
fn parse_help(text: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut flags = BTreeSet::new();
    let mut subs = BTreeSet::new();
    let mut section = "";
    for line in text.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            section = line.trim_end_matches(':');
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let body = line.trim_start();
        if body.is_empty() || indent > 6 {
            continue;
        }
        match section {
            "Commands" => {
                let name = body.split_whitespace().next().unwrap_or("");
                if name != "help" {
                    subs.insert(name.to_string());
                }
            }
            "Options" if body.starts_with('-') => {
                for word in body.split([' ', ',']) {
                    if let Some(flag) = long_flag(word) {
                        flags.insert(flag);
                    }
                }
            }
            _ => {}
        }
    }
    (flags, subs)
}

/// `--name` of a word like `--name`, `--name=3`, `--verbose...` (clap's count flags).
fn long_flag(word: &str) -> Option<String> {
    let name: String = word
        .strip_prefix("--")?
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (!name.is_empty()).then(|| format!("--{name}"))
}

/// A command line the docs give: the words after `gameday` (or after cargo's `--`).
#[derive(Debug, PartialEq)]
struct Mention {
    file: String,
    line: usize,
    words: Vec<String>,
}

/// Code spans (a span may wrap onto the next line of its paragraph) and code-block
/// lines (continuations joined), each with the line it starts on.
fn code_of(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_block = false;
    let mut pending: Option<(usize, String)> = None;
    let mut paragraph: Vec<(usize, &str)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim_start().starts_with("```") {
            spans(&paragraph, &mut out);
            paragraph.clear();
            in_block = !in_block;
            continue;
        }
        if !in_block {
            if line.trim().is_empty() {
                spans(&paragraph, &mut out);
                paragraph.clear();
            } else {
                paragraph.push((n, line));
            }
            continue;
        }
        // A shell comment is prose.
        let code = match line.find(" #") {
            Some(at) => &line[..at],
            None if line.trim_start().starts_with('#') => "",
            None => line,
        };
        let (start, mut joined) = pending.take().unwrap_or((n, String::new()));
        joined.push(' ');
        match code.trim_end().strip_suffix('\\') {
            Some(head) => {
                joined.push_str(head);
                pending = Some((start, joined));
            }
            None => {
                joined.push_str(code);
                out.push((start, joined));
            }
        }
    }
    spans(&paragraph, &mut out);
    out
}

/// The code spans of one paragraph's lines.
fn spans(paragraph: &[(usize, &str)], out: &mut Vec<(usize, String)>) {
    let mut open: Option<(usize, String)> = None;
    for (n, line) in paragraph {
        for (k, part) in line.split('`').enumerate() {
            if k > 0 {
                // Every backtick toggles: close the open span, or open one here.
                match open.take() {
                    Some(span) => out.push(span),
                    None => open = Some((*n, String::new())),
                }
            }
            if let Some((_, span)) = &mut open {
                span.push_str(part);
            }
        }
        if let Some((_, span)) = &mut open {
            span.push(' ');
        }
    }
}

/// Every `gameday …` / `cargo run … -- …` command, and every flag named on its own.
fn mentions(file: &str, text: &str) -> (Vec<Mention>, Vec<(usize, String)>) {
    let mut commands = Vec::new();
    let mut lone_flags = Vec::new();
    for (line, code) in code_of(text) {
        let words: Vec<&str> = code.split_whitespace().collect();
        if words.first().is_some_and(|w| w.starts_with("--")) {
            if let Some(flag) = long_flag(words[0]) {
                lone_flags.push((line, flag));
            }
            continue;
        }
        let mut i = 0;
        while i < words.len() {
            let w = words[i];
            let start = if w == "gameday" {
                Some(i + 1)
            } else if w == "cargo" && words.get(i + 1) == Some(&"run") {
                // cargo's own flags come before its `--`.
                words[i..]
                    .iter()
                    .position(|x| *x == "--")
                    .map(|p| i + p + 1)
            } else {
                None
            };
            let Some(start) = start else {
                i += 1;
                continue;
            };
            let cmd: Vec<String> = words[start..]
                .iter()
                .take_while(|x| !matches!(**x, "|" | "&" | "&&" | ";" | ">" | "2>" | "||"))
                .map(|x| x.to_string())
                .collect();
            // The command's own words are not searched again (`gameday scenario gameday`).
            i = start + cmd.len();
            if !cmd.is_empty() {
                commands.push(Mention {
                    file: file.to_string(),
                    line,
                    words: cmd,
                });
            }
        }
    }
    (commands, lone_flags)
}

/// Problems with one file's commands and flags, one line each.
fn problems(cli: &Cli, file: &str, text: &str) -> Vec<String> {
    let (commands, lone_flags) = mentions(file, text);
    let mut out = Vec::new();
    for m in commands {
        let mut path: Vec<String> = Vec::new();
        let mut words = m.words.iter().peekable();
        while let Some(w) = words.peek() {
            let subs = &cli.subs[&path];
            if subs.contains(w.as_str()) {
                path.push(w.to_string());
                words.next();
            } else {
                break;
            }
        }
        let next = words.peek().map(|w| w.as_str()).unwrap_or("");
        // A placeholder (`<target>`, `…`) stands for any subcommand under the path: its
        // flags are then those of any of them.
        let placeholder = next.starts_with('<') || next.starts_with('…') || next == "...";
        let known: BTreeSet<&str> = if placeholder {
            cli.flags_under(&path)
        } else {
            cli.flags[&path].iter().map(String::as_str).collect()
        };
        // `gameday bench` alone names the group; a word that is no subcommand is wrong.
        if !cli.subs[&path].is_empty() && !placeholder && !next.is_empty() && !next.starts_with('-')
        {
            out.push(format!(
                "{file}:{}: `gameday {}`: no subcommand {next:?} (known: {})",
                m.line,
                m.words.join(" "),
                cli.subs[&path]
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            continue;
        }
        for w in words {
            let Some(flag) = long_flag(w) else {
                continue;
            };
            if !known.contains(flag.as_str()) {
                out.push(format!(
                    "{file}:{}: `gameday {}`: `gameday {} --help` has no {flag}",
                    m.line,
                    m.words.join(" "),
                    path.join(" ")
                ));
            }
        }
    }
    let all = cli.all_flags();
    for (line, flag) in lone_flags {
        if !all.contains(flag.as_str()) && !CARGO_FLAGS.contains(&flag.as_str()) {
            out.push(format!(
                "{file}:{line}: {flag} is no flag of any gameday subcommand"
            ));
        }
    }
    out
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The README, docs/*.md and the scenarios' pointer.
fn doc_files() -> Vec<PathBuf> {
    let root = repo();
    let mut files = vec![root.join("README.md"), root.join("scenarios/README.md")];
    if let Ok(dir) = std::fs::read_dir(root.join("docs")) {
        let mut docs: Vec<PathBuf> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "md"))
            .collect();
        docs.sort();
        files.extend(docs);
    }
    files
}

#[test]
fn the_docs_name_only_commands_and_flags_the_cli_has() {
    let cli = Cli::from_binary();
    for sub in ["scenario", "gates", "emulate", "bench", "component"] {
        assert!(
            cli.subs[&vec![]].contains(sub),
            "gameday --help lists no {sub}"
        );
    }
    let mut found = Vec::new();
    let mut checked = 0;
    for path in doc_files() {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let name = path
            .strip_prefix(repo())
            .unwrap_or(&path)
            .display()
            .to_string();
        checked += mentions(&name, &text).0.len();
        found.extend(problems(&cli, &name, &text));
    }
    assert!(
        checked >= 10,
        "only {checked} commands found in the docs: is the parser broken?"
    );
    assert!(
        found.is_empty(),
        "the docs and the CLI disagree:\n{}",
        found.join("\n")
    );
}

/// The check itself turns red on a made-up subcommand and a made-up flag, in a code
/// block and in a code span, and stays green on what the CLI has.
#[test]
fn a_made_up_command_or_flag_is_caught() {
    let cli = Cli::from_binary();
    let good = "Run `gameday scenario burst --seed 7`, or\n\
                ```sh\ncargo run --release -- bench delivery \\\n    --rows 10000000 # a comment --nope\n```\n\
                and `--duration-scale 0.1`; cargo's `--release` is fine; `gameday component\n\
                <kind> --config x.toml` wraps; `gameday scenario gameday --seed 1`.";
    assert_eq!(problems(&cli, "good.md", good), Vec::<String>::new());
    let bad = "```sh\ncargo run -- scenario burst --speed 2\ngameday teleport\n```\n\
               `gameday bench warp` and `--colour always`";
    let p = problems(&cli, "bad.md", bad);
    assert_eq!(p.len(), 4, "{p:#?}");
    assert!(
        p[0].contains("bad.md:2") && p[0].contains("--speed"),
        "{}",
        p[0]
    );
    assert!(
        p[1].contains("bad.md:3") && p[1].contains("\"teleport\""),
        "{}",
        p[1]
    );
    assert!(
        p[2].contains("bad.md:5") && p[2].contains("\"warp\""),
        "{}",
        p[2]
    );
    assert!(p[3].contains("--colour"), "{}", p[3]);
}
