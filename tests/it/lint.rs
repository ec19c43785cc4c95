//! `switchboard lint` on deliberately broken specs: each `tests/lint/<name>.toml`
//! (or directory `tests/lint/<name>/`) must print exactly the lines of
//! `tests/lint/<name>.expected`, `file:line:col: error[code]: reason`, and
//! exit 1. Runs the real binary from the crate root, as a user would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

fn crate_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn switchboard_lint(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("lint")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run switchboard lint")
}

/// The path a case is linted by: its directory if there is one, else its file.
fn case_path(name: &str) -> String {
    let dir = format!("tests/lint/{name}");
    if crate_root().join(&dir).is_dir() {
        dir
    } else {
        format!("{dir}.toml")
    }
}

fn expected(name: &str) -> String {
    let path = crate_root().join(format!("tests/lint/{name}.expected"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Lints one case and checks stdout against its `.expected` file, and exit code 1.
fn check_case(name: &str) {
    check_case_exits(name, 1);
}

/// Lints one case and checks stdout against its `.expected` file, and the exit code.
fn check_case_exits(name: &str, code: i32) {
    let path = case_path(name);
    let out = switchboard_lint(crate_root(), &[&path]);
    assert_eq!(
        text(&out.stdout),
        expected(name),
        "stdout of `switchboard lint {path}` differs from tests/lint/{name}.expected\nstderr:\n{}",
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(code), "exit code of lint {path}");
}

#[test]
fn toml_syntax_error() {
    check_case("toml_syntax");
}

#[test]
fn unknown_key() {
    check_case("unknown_key");
}

#[test]
fn missing_base_url() {
    check_case("missing_base_url");
}

#[test]
fn handlebars_syntax_error_in_a_body_leaf() {
    check_case("handlebars_syntax");
}

#[test]
fn unknown_helper() {
    check_case("unknown_helper");
}

#[test]
fn unknown_part() {
    check_case("unknown_part");
}

#[test]
fn unknown_directive() {
    check_case("unknown_directive");
}

#[test]
fn invalid_jsonpath_in_chat_response() {
    check_case("invalid_jsonpath");
}

#[test]
fn invalid_regex_in_an_error_rule() {
    check_case("invalid_regex");
}

#[test]
fn unknown_error_kind_in_an_error_rule() {
    check_case("unknown_error_kind");
}

#[test]
fn unknown_extends() {
    check_case("unknown_extends");
}

#[test]
fn extends_cycle() {
    check_case("cycle");
}

#[test]
fn match_without_an_image_case_fails_the_images_sample() {
    check_case("images_unmatched");
}

#[test]
fn a_token_count_api_needs_a_chat_endpoint_and_a_valid_tokens_path() {
    check_case("count_tokens_problems");
}

#[test]
fn a_token_count_body_renders_every_chat_sample() {
    check_case("count_tokens_render");
}

#[test]
fn several_problems_in_one_file_are_all_reported() {
    check_case("several_problems");
}

#[test]
fn several_schema_problems_in_one_file_are_all_reported() {
    check_case("several_schema_problems");
}

#[test]
fn json_format_reports_the_same_findings() {
    let out = switchboard_lint(
        crate_root(),
        &["--format", "json", "tests/lint/several_problems.toml"],
    );
    assert_eq!(out.status.code(), Some(1));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(&out.stdout)));
    let from_json: Vec<(String, u64, u64, String)> = list
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap_or_default().to_string(),
                d["line"].as_u64().unwrap_or_default(),
                d["col"].as_u64().unwrap_or_default(),
                d["code"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    // `file:line:col: error[code]: reason`, read back into its parts.
    let from_text: Vec<(String, u64, u64, String)> = expected("several_problems")
        .lines()
        .map(|l| {
            let (place, rest) = l
                .split_once(": error[")
                .expect("file:line:col: error[code]");
            let mut it = place.rsplitn(3, ':');
            let col = it.next().and_then(|c| c.parse().ok()).unwrap_or_default();
            let line = it.next().and_then(|n| n.parse().ok()).unwrap_or_default();
            let file = it.next().unwrap_or_default().to_string();
            let code = rest.split(']').next().unwrap_or_default().to_string();
            (file, line, col, code)
        })
        .collect();
    assert_eq!(from_text.len(), 7);
    assert_eq!(from_json, from_text);
    assert!(list.as_array().is_some_and(|l| {
        l.iter()
            .all(|d| d["severity"] == "error" && d["message"].is_string())
    }));
}

#[test]
fn shipped_specs_lint_clean() {
    let out = switchboard_lint(crate_root(), &["providers"]);
    assert_eq!(text(&out.stdout), "", "stderr:\n{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(0));
}

/// A fresh directory under the system temp dir.
fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "switchboard-it-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

#[test]
fn user_spec_extending_openai_lints_clean() {
    // The example in providers/README.md, "Add an OpenAI-compatible provider".
    let spec = r#"# providers/groq.toml
extends = "openai"
name = "Groq"
docs = "https://console.groq.com/docs/api-reference"
base-url = "https://api.groq.com/openai/v1"
auth = { scheme = "bearer", env = "GROQ_API_KEY" }
model-prefixes = ["llama-", "qwen-"]
headers = { OpenAI-Organization = "{{null}}", OpenAI-Project = "{{null}}" }
"#;
    assert!(spec.lines().count() <= 10);
    let dir = temp_dir("lint-user-spec");
    std::fs::create_dir_all(dir.join("providers")).expect("create providers/");
    std::fs::write(dir.join("providers/groq.toml"), spec).expect("write groq.toml");
    // No path: lint checks ./providers, as in a user's own project.
    let out = switchboard_lint(&dir, &[]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(text(&out.stdout), "", "stderr:\n{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("in 1 file"),
        "only the user's file is checked: {}",
        text(&out.stderr)
    );
}

// With --format json an unreadable path is dropped: stdout is `[]`, exit 1.
#[test]
fn json_format_reports_an_unreadable_path() {
    let out = switchboard_lint(
        crate_root(),
        &["--format", "json", "tests/lint/no_such_file.toml"],
    );
    assert_eq!(out.status.code(), Some(1));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(list[0]["file"], "tests/lint/no_such_file.toml");
    assert_eq!(list[0]["code"], "io");
}

#[test]
fn reasoning_blocks_without_a_case_for_them() {
    check_case("reasoning_blocks_unmatched");
}

#[test]
fn thinking_blocks_without_each() {
    check_case("thinking_blocks_without_each");
}

// Specs that would crash or exhaust a loader that trusted them (issue 10):
// each is a finding with its place, and lint exits 1.

#[test]
fn a_part_that_includes_itself_is_a_cycle() {
    check_case("part_includes_itself");
}

#[test]
fn parts_that_include_each_other_are_a_cycle_naming_both() {
    check_case("parts_include_each_other");
}

#[test]
fn a_part_that_includes_itself_inside_each_is_a_cycle() {
    check_case("part_includes_itself_in_each");
}

#[test]
fn five_thousand_nested_subexpressions_are_refused_with_the_limit() {
    check_case("nested_subexpressions");
}

#[test]
fn parts_that_double_at_each_of_40_levels_stop_at_the_expansion_limit() {
    check_case("parts_double_at_each_level");
}

#[test]
fn arrays_nested_a_thousand_deep_are_a_toml_finding() {
    check_case("deeply_nested_arrays");
}

#[test]
fn tables_nested_a_thousand_deep_are_a_toml_finding() {
    check_case("deeply_nested_tables");
}

#[test]
fn a_template_nested_past_the_depth_limit_is_refused() {
    check_case("template_nested_too_deep");
}

#[test]
fn a_jsonpath_nested_past_the_limit_is_refused() {
    check_case("jsonpath_nested_too_deep");
}

#[test]
fn an_extends_chain_longer_than_the_limit_is_refused() {
    check_case("extends_chain");
}

#[test]
fn named_mappings_that_use_each_other_are_a_cycle() {
    check_case("map_cycle");
}

#[test]
fn a_part_taken_from_another_provider_must_exist_there() {
    check_case("borrowed_part");
}

#[test]
fn a_typo_in_a_value_does_not_hide_the_next_schema_problem() {
    check_case("scheme_typo_and_unknown_key");
}

#[test]
fn deprecated_forms_still_load_with_a_warning_each() {
    check_case_exits("deprecated_forms", 0);
}

#[test]
fn a_missing_file_is_reported_as_missing() {
    check_case("no_such_file");
    let out = switchboard_lint(crate_root(), &["tests/lint/no_such_file.toml"]);
    assert!(
        text(&out.stderr).contains("1 finding(s) in 0 file(s); 1 path could not be read"),
        "{}",
        text(&out.stderr)
    );
}

/// The hostile cases above, loaded as a library user would, on a thread with
/// a small stack: each is an error naming its problem, never a crash.
#[test]
fn hostile_specs_fail_to_load_without_overflowing_a_small_stack() {
    let cases = [
        ("part_includes_itself", "includes itself"),
        ("parts_include_each_other", "cycle"),
        ("part_includes_itself_in_each", "includes itself"),
        ("nested_subexpressions", "nest more than 16 deep"),
        ("parts_double_at_each_level", "the limit is 100000"),
        ("deeply_nested_arrays", "nest too deep"),
        ("deeply_nested_tables", "nest too deep"),
        ("template_nested_too_deep", "more than 64"),
        ("jsonpath_nested_too_deep", "more than 16 deep"),
        ("map_cycle", "cycle"),
        ("extends_chain", "longer than 16"),
    ];
    let worker = std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(move || {
            for (name, why) in cases {
                let path = crate_root().join(case_path(name));
                let message = if path.is_dir() {
                    switchboard::Registry::with_dir(&path)
                        .map(|_| ())
                        .map_err(|e| e.message().to_string())
                } else {
                    let source = switchboard::Source {
                        name: name.to_string(),
                        text: std::fs::read_to_string(&path).expect("read case"),
                    };
                    switchboard::Registry::try_from_sources(vec![source])
                        .map(|_| ())
                        .map_err(|found| {
                            found
                                .iter()
                                .map(|d| d.to_string())
                                .collect::<Vec<_>>()
                                .join("\n")
                        })
                };
                match message {
                    Ok(()) => panic!("{name} loaded"),
                    Err(m) => assert!(m.contains(why), "{name}: {m}"),
                }
            }
        })
        .expect("spawn");
    worker.join().expect("no case crashes the loader");
}

#[test]
fn a_front_door_with_a_problem_in_each_part_reports_them_all() {
    check_case("ingress/broken_door");
}

#[test]
fn a_front_door_with_an_unknown_key_names_its_place() {
    check_case("ingress/unknown_key");
}

#[test]
fn the_shipped_front_doors_lint_clean() {
    let out = switchboard_lint(crate_root(), &["ingress"]);
    assert_eq!(text(&out.stdout), "", "{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn variant_with_an_unknown_key() {
    check_case("variant_unknown_key");
}

#[test]
fn variant_with_an_unknown_mode_and_a_bad_path() {
    check_case("variant_mode_and_path");
}

#[test]
fn variant_template_and_jsonpath_problems_are_found_at_the_variant() {
    check_case("variant_body");
}

#[test]
fn variant_that_cannot_render_a_sample() {
    check_case("variant_render");
}

#[test]
fn variant_that_declares_a_parameter_it_does_not_read() {
    check_case("variant_params");
}
