//! The reader's behaviour, through `read`: shapes, formats, errors, JavaScript, hostile
//! files, starters. JavaScript tests run the real `node` and fail (not skip) without it.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::*;

/// Long enough for node to start on a loaded machine, short enough to keep tests quick.
const TIMEOUT_FOR_TESTS: Duration = Duration::from_secs(3);

/// The caller's context: the test process's PATH (to find node) plus a variable the test
/// process itself does not have, to prove JavaScript sees `ctx.env`.
fn ctx(dir: &Path) -> Context {
    Context {
        env: vec![
            ("PATH".into(), std::env::var_os("PATH").unwrap_or_default()),
            ("TPM_ECO_GREETING".into(), "hello from ctx".into()),
        ],
        cwd: dir.to_path_buf(),
    }
}

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, text).unwrap();
    p
}

fn read_in(dir: &Path, rel: &str) -> Result<Document> {
    read(Path::new(rel), &ctx(dir))
}

fn apps(doc: &Document) -> Vec<Value> {
    doc.apps
        .iter()
        .map(|a| Value::Object(a.fields.clone()))
        .collect()
}

/// The error's parts, for matching.
fn eco(err: Error) -> (Option<String>, Option<usize>, String) {
    match err {
        Error::Ecosystem {
            app, line, message, ..
        } => (app, line, message),
        other => panic!("expected an ecosystem error, got {other:?}"),
    }
}

fn wait_until(deadline: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    let mut pause = Duration::from_millis(1);
    loop {
        if ready() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(25));
    }
}

/// Alive means there and not a zombie (an orphan's zombie waits for init to reap it).
fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

fn two_apps() -> Vec<Value> {
    vec![
        json!({"name": "api", "script": "server.js", "port": 3000, "env": {"A": "1"}}),
        json!({"name": "web", "script": "python3 -m http.server 8080"}),
    ]
}

// ---------------------------------------------------------------- formats and shapes

#[test]
fn file_names_decide_the_format_and_a_plain_js_file_is_a_script() {
    let cases = [
        ("ecosystem.config.js", Some(Format::Js)),
        ("app/pm2.config.cjs", Some(Format::Js)),
        ("x.config.mjs", Some(Format::Js)),
        ("server.js", None),
        ("config.js", None),
        ("ecosystem.json", Some(Format::Json)),
        ("ecosystem.config.json", Some(Format::Json)),
        ("apps.yaml", Some(Format::Yaml)),
        ("apps.yml", Some(Format::Yaml)),
        ("apps.toml", Some(Format::Toml)),
        ("server.sh", None),
        ("README", None),
        (".json", None),
    ];
    for (name, want) in cases {
        assert_eq!(format_of(Path::new(name)), want, "{name}");
    }
}

#[test]
fn the_apps_shape_reads_in_json_yaml_and_toml() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "e.json",
        r#"{"apps": [
            {"name": "api", "script": "server.js", "port": 3000, "env": {"A": "1"}},
            {"name": "web", "script": "python3 -m http.server 8080"}]}"#,
    );
    write(
        d.path(),
        "e.yaml",
        "apps:\n  - name: api\n    script: server.js\n    port: 3000\n    env: {A: \"1\"}\n  - name: web\n    script: python3 -m http.server 8080\n",
    );
    write(
        d.path(),
        "e.toml",
        "[[apps]]\nname = \"api\"\nscript = \"server.js\"\nport = 3000\nenv = { A = \"1\" }\n\n[[apps]]\nname = \"web\"\nscript = \"python3 -m http.server 8080\"\n",
    );
    for file in ["e.json", "e.yaml", "e.toml"] {
        let doc = read_in(d.path(), file).unwrap();
        assert_eq!(apps(&doc), two_apps(), "{file}");
        assert_eq!(doc.apps.iter().map(|a| a.index).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(doc.path, d.path().join(file));
        assert_eq!(doc.dir, d.path());
    }
}

#[test]
fn a_single_app_object_is_one_app_in_every_format() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "one.json", r#"{"name": "api", "script": "s.sh"}"#);
    write(d.path(), "one.yml", "name: api\nscript: s.sh\n");
    write(d.path(), "one.toml", "name = \"api\"\nscript = \"s.sh\"\n");
    for file in ["one.json", "one.yml", "one.toml"] {
        let doc = read_in(d.path(), file).unwrap();
        assert_eq!(
            apps(&doc),
            [json!({"name": "api", "script": "s.sh"})],
            "{file}"
        );
    }
}

#[test]
fn a_top_level_list_is_the_apps_and_toml_writes_it_as_an_inline_apps_array() {
    // TOML has no top-level array; its third way of writing a list is `apps = [...]`.
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "list.json",
        r#"[{"name": "api", "script": "server.js", "port": 3000, "env": {"A": "1"}},
            {"name": "web", "script": "python3 -m http.server 8080"}]"#,
    );
    write(
        d.path(),
        "list.yaml",
        "- name: api\n  script: server.js\n  port: 3000\n  env:\n    A: \"1\"\n- {name: web, script: python3 -m http.server 8080}\n",
    );
    write(
        d.path(),
        "list.toml",
        "apps = [\n  { name = \"api\", script = \"server.js\", port = 3000, env = { A = \"1\" } },\n  { name = \"web\", script = \"python3 -m http.server 8080\" },\n]\n",
    );
    for file in ["list.json", "list.yaml", "list.toml"] {
        assert_eq!(
            apps(&read_in(d.path(), file).unwrap()),
            two_apps(),
            "{file}"
        );
    }
}

#[test]
fn relative_paths_are_taken_from_the_callers_directory() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "svc/e.json", r#"{"script": "a.sh"}"#);
    let doc = read(Path::new("./svc/../svc/e.json"), &ctx(d.path())).unwrap();
    assert_eq!(doc.path, d.path().join("svc/e.json"));
    assert_eq!(doc.dir, d.path().join("svc"));
    // An absolute path ignores the caller's directory.
    let doc = read(&d.path().join("svc/e.json"), &ctx(Path::new("/"))).unwrap();
    assert_eq!(doc.dir, d.path().join("svc"));
}

#[test]
fn apps_are_labelled_by_name_or_by_position() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "e.json",
        r#"[{"name": "api"}, {"script": "x"}, {"name": 7}, {"name": ""}]"#,
    );
    let labels: Vec<String> = read_in(d.path(), "e.json")
        .unwrap()
        .apps
        .iter()
        .map(RawApp::label)
        .collect();
    assert_eq!(labels, ["api", "app #2", "app #3", "app #4"]);
}

#[test]
fn yaml_merge_keys_share_settings_and_toml_datetimes_become_text() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "e.yaml",
        "defaults: &d\n  autorestart: false\n  env: {NODE_ENV: production}\napps:\n  - <<: *d\n    name: a\n  - <<: *d\n    name: b\n    autorestart: true\n",
    );
    let doc = read_in(d.path(), "e.yaml").unwrap();
    assert_eq!(
        apps(&doc),
        [
            json!({"name": "a", "autorestart": false, "env": {"NODE_ENV": "production"}}),
            json!({"name": "b", "autorestart": true, "env": {"NODE_ENV": "production"}}),
        ]
    );
    write(
        d.path(),
        "e.toml",
        "name = \"a\"\nsince = 2024-01-15T10:30:00Z\nday = 2024-01-15\nratio = 0.5\n",
    );
    let doc = read_in(d.path(), "e.toml").unwrap();
    assert_eq!(
        apps(&doc),
        [json!({"name": "a", "since": "2024-01-15T10:30:00Z", "day": "2024-01-15", "ratio": 0.5})]
    );
}

#[test]
fn wrong_shapes_are_errors_naming_the_file_and_the_app() {
    let d = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, Option<&str>, &str); 12] = [
        ("n.json", "42", None, "found a number"),
        ("s.yaml", "just text\n", None, "found a string"),
        (
            "a.json",
            r#"{"apps": {"name": "x"}}"#,
            None,
            "`apps` must be a list of apps, not an object",
        ),
        ("t.toml", "apps = \"x\"\n", None, "`apps` must be a list"),
        ("e.json", r#"{"apps": []}"#, None, "no apps"),
        ("l.yaml", "[]\n", None, "no apps"),
        ("o.json", "{}", None, "no apps"),
        ("w.json", "  \n", None, "the file is empty"),
        (
            "c.yaml",
            "# only a comment\n",
            None,
            "no apps: the file holds nothing",
        ),
        (
            "c.toml",
            "# only a comment\n",
            None,
            "no apps: the file holds an empty",
        ),
        ("null.json", "null", None, "no apps"),
        (
            "i.json",
            r#"{"apps": [{"name": "a"}, "b.sh"]}"#,
            Some("app #2"),
            "an app must be an object, not a string",
        ),
    ];
    for (file, text, app, needle) in cases {
        write(d.path(), file, text);
        let err = read_in(d.path(), file).unwrap_err();
        assert_eq!(err.exit_code(), 64, "{file}");
        let shown = err.to_string();
        assert!(
            shown.starts_with(d.path().join(file).to_str().unwrap()),
            "{shown}"
        );
        assert!(err.help().is_some());
        let (got_app, _, message) = eco(err);
        assert_eq!(got_app.as_deref(), app, "{file}");
        assert!(message.contains(needle), "{file}: {message}");
    }
}

#[test]
fn errors_show_the_file_then_the_line_then_the_app() {
    let err = |line, app: Option<&str>| Error::Ecosystem {
        file: "/srv/ecosystem.yaml".into(),
        app: app.map(String::from),
        line,
        message: "`port` must be a number".into(),
    };
    assert_eq!(
        err(Some(7), Some("api")).to_string(),
        "/srv/ecosystem.yaml, line 7: api: `port` must be a number"
    );
    assert_eq!(
        err(None, Some("app #2")).to_string(),
        "/srv/ecosystem.yaml: app #2: `port` must be a number"
    );
    assert_eq!(
        err(None, None).to_string(),
        "/srv/ecosystem.yaml: `port` must be a number"
    );
    for e in [err(Some(7), None), err(None, Some("api")), err(None, None)] {
        assert_eq!(e.exit_code(), 64);
        assert!(e.help().unwrap().contains("tpm init"));
    }
}

#[test]
fn other_file_names_are_refused() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "server.js", "module.exports = {}\n");
    let (_, _, message) = eco(read_in(d.path(), "server.js").unwrap_err());
    assert!(message.contains("not an ecosystem file"), "{message}");
}

// ---------------------------------------------------------------- syntax errors

#[test]
fn a_json_syntax_error_reports_its_line() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "e.json",
        "{\n  \"apps\": [\n    {\"name\": \"a\"}\n    {\"name\": \"b\"}\n  ]\n}\n",
    );
    let err = read_in(d.path(), "e.json").unwrap_err();
    assert!(err.to_string().contains(", line 4: "), "{err}");
    assert!(err.help().unwrap().contains("at line 4"));
    let (_, line, message) = eco(err);
    assert_eq!(line, Some(4));
    assert!(message.contains("at column 5"), "{message}");
    assert!(
        !message.contains("pm2"),
        "no comment hint without a comment: {message}"
    );
}

#[test]
fn json_with_pm2_style_comments_is_read_as_pm2_read_it() {
    // pm2 evaluated .json files as JavaScript: comments, unquoted keys, single quotes
    // and trailing commas are read (as JSON5); a real error still names its line.
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "e.json",
        "{\n  \"apps\": [{script: 'http://x', /* inline */}],\n  // the api\n}\n",
    );
    let doc = read_in(d.path(), "e.json").unwrap();
    assert_eq!(apps(&doc), [json!({"script": "http://x"})]);
    write(
        d.path(),
        "bad.json",
        "{\n  // the api\n  \"apps\": [{\"script\": \"x\"}}\n}\n",
    );
    let (_, line, message) = eco(read_in(d.path(), "bad.json").unwrap_err());
    assert_eq!(line, Some(3));
    assert!(message.contains("JSON5"), "{message}");
}

#[test]
fn a_json5_file_is_an_ecosystem_file() {
    let d = tempfile::tempdir().unwrap();
    assert_eq!(format_of(Path::new("ecosystem.json5")), Some(Format::Json));
    write(
        d.path(),
        "ecosystem.json5",
        "// pm2's JSON5 fixture shape\n{\n  apps: [{\n    name: 'api', // the name\n    script: \"server.js\",\n    instances: +2,\n    env: {A: 0x10,},\n  },],\n}\n",
    );
    let doc = read_in(d.path(), "ecosystem.json5").unwrap();
    assert_eq!(
        apps(&doc),
        [json!({"name": "api", "script": "server.js", "instances": 2, "env": {"A": 16}})]
    );
    // JSON5's own error, with its line, for a .json5 file.
    write(
        d.path(),
        "bad.json5",
        "{\n  apps: [\n    {name: 'x' script: 'y'}\n  ]\n}\n",
    );
    let (_, line, _) = eco(read_in(d.path(), "bad.json5").unwrap_err());
    assert_eq!(line, Some(3));
}

#[test]
fn a_yaml_syntax_error_reports_its_line() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "e.yaml",
        "apps:\n  - name: a\n    script: x\n  - name: b\n   script: y\n",
    );
    let err = read_in(d.path(), "e.yaml").unwrap_err();
    let (_, line, message) = eco(err);
    assert_eq!(line, Some(5), "{message}");
    // An unclosed flow list is found on the line where the file ends.
    write(d.path(), "f.yml", "apps: [\n  {name: a},\n  {name: b}\n");
    let (_, line, _) = eco(read_in(d.path(), "f.yml").unwrap_err());
    assert_eq!(line, Some(4));
}

#[test]
fn a_toml_syntax_error_reports_its_line() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "e.toml",
        "[[apps]]\nname = \"a\"\n\n[[apps]]\nname = \"b\"\nscript = x.sh\n",
    );
    let err = read_in(d.path(), "e.toml").unwrap_err();
    assert!(err.to_string().contains(", line 6: "), "{err}");
    let (_, line, message) = eco(err);
    assert_eq!(line, Some(6));
    assert!(message.contains("at column 10"), "{message}");
    // A duplicate key is found where it is written twice.
    write(d.path(), "d.toml", "name = \"a\"\n\nname = \"b\"\n");
    assert_eq!(eco(read_in(d.path(), "d.toml").unwrap_err()).1, Some(3));
}

#[test]
fn numbers_json_cannot_hold_are_refused() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "e.yaml", "name: a\nratio: .nan\n");
    write(d.path(), "e.toml", "name = \"a\"\nratio = inf\n");
    for file in ["e.yaml", "e.toml"] {
        let (_, _, message) = eco(read_in(d.path(), file).unwrap_err());
        assert!(message.contains("not a usable number"), "{file}: {message}");
    }
}

// ---------------------------------------------------------------- hostile input

#[test]
fn a_missing_file_is_66_like_a_missing_script() {
    let d = tempfile::tempdir().unwrap();
    for file in ["nope.json", "nope.config.js"] {
        let err = read_in(d.path(), file).unwrap_err();
        assert!(matches!(err, Error::ScriptNotFound { .. }), "{err:?}");
        assert_eq!(err.exit_code(), 66);
    }
}

#[test]
fn a_directory_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    fs::create_dir(d.path().join("apps.json")).unwrap();
    fs::create_dir(d.path().join("dir.config.js")).unwrap();
    for file in ["apps.json", "dir.config.js"] {
        let (_, _, message) = eco(read_in(d.path(), file).unwrap_err());
        assert!(message.contains("is a directory"), "{message}");
    }
}

#[test]
fn a_fifo_or_a_device_is_refused_without_blocking() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("pipe.json");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let (_, _, message) = eco(read_in(d.path(), "pipe.json").unwrap_err());
    assert!(message.contains("not a regular file"), "{message}");
    let dev = d.path().join("zero.yaml");
    std::os::unix::fs::symlink("/dev/zero", &dev).unwrap();
    let (_, _, message) = eco(read_in(d.path(), "zero.yaml").unwrap_err());
    assert!(message.contains("not a regular file"), "{message}");
}

#[test]
fn a_huge_file_is_refused_before_it_is_read() {
    let d = tempfile::tempdir().unwrap();
    for file in ["big.json", "big.config.js"] {
        let f = fs::File::create(d.path().join(file)).unwrap();
        f.set_len(MAX_FILE_BYTES + 1).unwrap();
        let (_, _, message) = eco(read_in(d.path(), file).unwrap_err());
        assert!(message.contains("larger than 4 MiB"), "{message}");
    }
}

#[test]
fn binary_junk_is_an_error_with_the_line_of_the_first_bad_byte() {
    let d = tempfile::tempdir().unwrap();
    let mut junk = b"{\n\"apps\": [\n".to_vec();
    junk.extend((0..=255u8).cycle().take(4096));
    fs::write(d.path().join("junk.toml"), &junk).unwrap();
    let (_, line, message) = eco(read_in(d.path(), "junk.toml").unwrap_err());
    assert!(message.contains("not UTF-8"), "{message}");
    assert!(line.is_some_and(|l| l >= 3), "{line:?}");
    // Valid UTF-8 junk is a syntax error, not a panic.
    fs::write(
        d.path().join("ctl.yaml"),
        "\u{0}\u{1}\u{7f}\u{feff}apps:\t- ",
    )
    .unwrap();
    assert_eq!(read_in(d.path(), "ctl.yaml").unwrap_err().exit_code(), 64);
    // A byte-order mark is not junk.
    fs::write(d.path().join("bom.json"), "\u{feff}{\"script\": \"a\"}").unwrap();
    assert_eq!(read_in(d.path(), "bom.json").unwrap().apps.len(), 1);
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let d = tempfile::tempdir().unwrap();
    let depth = 100_000;
    let deep = |open: &str, close: &str| format!("{}{}", open.repeat(depth), close.repeat(depth));
    write(d.path(), "deep.json", &deep("[", "]"));
    write(d.path(), "deep.yaml", &deep("[", "]"));
    write(d.path(), "deep.toml", &format!("a = {}", deep("[", "]")));
    write(d.path(), "deepmap.yaml", &deep("{a: ", "}"));
    write(d.path(), "deep.json5", &deep("{a: ", "}"));
    // Brackets in JSON5 comments and strings are not nesting.
    let quoted = "[{".repeat(200);
    write(
        d.path(),
        "quoted.json5",
        &format!("// {quoted}\n/* {quoted} */\n{{name: '{quoted}\\'', script: \"{quoted}\"}}\n"),
    );
    assert_eq!(read_in(d.path(), "quoted.json5").unwrap().apps.len(), 1);
    for file in [
        "deep.json",
        "deep.yaml",
        "deep.toml",
        "deepmap.yaml",
        "deep.json5",
    ] {
        let t = Instant::now();
        assert_eq!(
            read_in(d.path(), file).unwrap_err().exit_code(),
            64,
            "{file}"
        );
        // The YAML parser is quadratic in flow depth: 100 000 levels once took minutes.
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "{file}: {:?}",
            t.elapsed()
        );
    }
}

#[test]
fn yaml_alias_bombs_are_bounded() {
    let d = tempfile::tempdir().unwrap();
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (name, prev) in ["b", "c", "d", "e", "f", "g", "h", "i"]
        .iter()
        .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
    {
        bomb.push_str(&format!(
            "{name}: &{name} [{}]\n",
            vec![format!("*{prev}"); 10].join(", ")
        ));
    }
    write(d.path(), "bomb.yaml", &bomb);
    let started = Instant::now();
    assert_eq!(read_in(d.path(), "bomb.yaml").unwrap_err().exit_code(), 64);
    assert!(started.elapsed() < Duration::from_secs(10));
}

// ---------------------------------------------------------------- JavaScript

#[test]
fn a_config_js_is_evaluated_by_node_with_the_callers_environment() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "svc/ecosystem.config.js",
        r#"const path = require('path');
console.log('this line must not spoil the result');
module.exports = {
  apps: [{
    name: 'api',
    script: 'server.js',
    cwd: path.join(__dirname, 'srv'),
    ran_in: process.cwd(),
    env: { GREETING: process.env.TPM_ECO_GREETING, ABSENT_IS_UNDEFINED: process.env.TPM_ECO_ABSENT === undefined },
  }],
};
"#,
    );
    assert!(std::env::var_os("TPM_ECO_GREETING").is_none());
    let doc = read_in(d.path(), "svc/ecosystem.config.js").unwrap();
    let svc = fs::canonicalize(d.path().join("svc")).unwrap();
    assert_eq!(
        apps(&doc),
        [json!({
            "name": "api",
            "script": "server.js",
            "cwd": svc.join("srv"),
            "ran_in": svc,
            "env": {"GREETING": "hello from ctx", "ABSENT_IS_UNDEFINED": true},
        })]
    );
    assert_eq!(doc.dir, d.path().join("svc"));
}

#[test]
fn a_cjs_config_is_required() {
    let d = tempfile::tempdir().unwrap();
    // Even where package.json makes .js files ES modules, .cjs stays CommonJS.
    write(d.path(), "package.json", r#"{"type": "module"}"#);
    write(
        d.path(),
        "pm2.config.cjs",
        "const { join } = require('node:path');\nmodule.exports = [{ name: process.env.TPM_ECO_GREETING, cwd: join(__dirname, 'srv') }];\n",
    );
    let doc = read_in(d.path(), "pm2.config.cjs").unwrap();
    let dir = fs::canonicalize(d.path()).unwrap();
    assert_eq!(
        apps(&doc),
        [json!({"name": "hello from ctx", "cwd": dir.join("srv")})]
    );
}

#[test]
fn an_mjs_config_is_imported_and_its_default_export_used() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "ecosystem.config.mjs",
        r#"import path from 'node:path';
import { fileURLToPath } from 'node:url';
const here = path.dirname(fileURLToPath(import.meta.url));
export default { apps: [{ name: 'api', cwd: path.join(here, 'srv'), env: { G: process.env.TPM_ECO_GREETING } }] };
"#,
    );
    let doc = read_in(d.path(), "ecosystem.config.mjs").unwrap();
    let dir = fs::canonicalize(d.path()).unwrap();
    assert_eq!(
        apps(&doc),
        [json!({"name": "api", "cwd": dir.join("srv"), "env": {"G": "hello from ctx"}})]
    );
    // Without a default export, an `apps` export is the list.
    write(
        d.path(),
        "named.config.mjs",
        "export const apps = [{ name: 'a' }, { name: 'b' }];\n",
    );
    let doc = read_in(d.path(), "named.config.mjs").unwrap();
    assert_eq!(apps(&doc), [json!({"name": "a"}), json!({"name": "b"})]);
}

#[test]
fn an_es_module_config_js_and_a_promised_config_are_read() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "esm/package.json", r#"{"type": "module"}"#);
    write(
        d.path(),
        "esm/ecosystem.config.js",
        "import os from 'node:os';\nconst name = await Promise.resolve('e');\nexport default { apps: [{ name, ok: typeof os.hostname() === 'string' }] };\n",
    );
    assert_eq!(
        apps(&read_in(d.path(), "esm/ecosystem.config.js").unwrap()),
        [json!({"name": "e", "ok": true})]
    );
    write(
        d.path(),
        "later.config.js",
        "module.exports = new Promise(ok => setTimeout(() => ok({ name: 'later' }), 10));\n",
    );
    assert_eq!(
        apps(&read_in(d.path(), "later.config.js").unwrap()),
        [json!({"name": "later"})]
    );
}

#[test]
fn a_config_that_throws_reports_node_message_and_line() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "ecosystem.config.js",
        "const path = require('path');\n\nif (!process.env.NOPE) throw new Error('set NOPE first');\nmodule.exports = {};\n",
    );
    let err = read_in(d.path(), "ecosystem.config.js").unwrap_err();
    assert_eq!(err.exit_code(), 64);
    let (_, line, message) = eco(err);
    assert_eq!(message, "Error: set NOPE first");
    assert_eq!(line, Some(3));

    write(
        d.path(),
        "missing.config.js",
        "module.exports = require('./no-such-helper');\n",
    );
    let (_, line, message) = eco(read_in(d.path(), "missing.config.js").unwrap_err());
    assert_eq!(message, "Error: Cannot find module './no-such-helper'");
    assert_eq!(line, Some(1));

    write(d.path(), "str.config.mjs", "\n\nthrow 'plain text';\n");
    let (_, _, message) = eco(read_in(d.path(), "str.config.mjs").unwrap_err());
    assert_eq!(message, "plain text");
}

#[test]
fn a_js_syntax_error_reports_its_line_in_commonjs_and_es_modules() {
    let d = tempfile::tempdir().unwrap();
    let text = "module.exports = {\n  apps: [\n    { name: 'a' script: 'x' },\n  ],\n};\n";
    write(d.path(), "bad.config.js", text);
    write(
        d.path(),
        "bad.config.mjs",
        &text.replace("module.exports =", "export default"),
    );
    for file in ["bad.config.js", "bad.config.mjs"] {
        let (_, line, message) = eco(read_in(d.path(), file).unwrap_err());
        assert!(message.starts_with("SyntaxError: "), "{file}: {message}");
        assert_eq!(line, Some(3), "{file}: {message}");
    }
}

#[test]
fn a_config_that_exports_nothing_or_exits_says_so() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "none.config.js", "const x = 1;\n");
    let (_, _, message) = eco(read_in(d.path(), "none.config.js").unwrap_err());
    assert!(message.contains("exports nothing"), "{message}");
    write(d.path(), "exit.config.js", "process.exit(3);\n");
    let (_, _, message) = eco(read_in(d.path(), "exit.config.js").unwrap_err());
    assert!(message.contains("status 3"), "{message}");
    write(
        d.path(),
        "big.config.js",
        "module.exports = { apps: [{ name: 'a', n: 10n }] };\n",
    );
    let (_, _, message) = eco(read_in(d.path(), "big.config.js").unwrap_err());
    assert!(message.contains("BigInt"), "{message}");
}

#[test]
fn a_config_that_never_ends_is_killed_with_everything_it_started() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "hang.config.js",
        "const fs = require('fs');\nconst child = require('child_process').spawn('sleep', ['600'], { stdio: 'inherit' });\nfs.writeFileSync(__dirname + '/pids', process.pid + ' ' + child.pid);\nwhile (true) {}\n",
    );
    let started = Instant::now();
    let err = read_within(
        Path::new("hang.config.js"),
        &ctx(d.path()),
        TIMEOUT_FOR_TESTS,
    )
    .unwrap_err();
    assert!(started.elapsed() < TIMEOUT_FOR_TESTS + Duration::from_secs(3));
    let (_, _, message) = eco(err);
    assert!(message.contains("still running after 3 s"), "{message}");
    let pids: Vec<u32> = fs::read_to_string(d.path().join("pids"))
        .expect("node wrote its pid before looping")
        .split(' ')
        .map(|p| p.parse().unwrap())
        .collect();
    // node itself is reaped before `read` returns; what it started dies with its group.
    assert!(!Path::new(&format!("/proc/{}", pids[0])).exists());
    assert!(wait_until(Duration::from_secs(5), || !alive(pids[1])));
}

#[test]
fn nothing_a_config_started_outlives_its_evaluation() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "bg.config.js",
        "const child = require('child_process').spawn('sleep', ['600'], { stdio: 'ignore' });\nchild.unref();\nrequire('fs').writeFileSync(__dirname + '/pid', String(child.pid));\nmodule.exports = { name: 'bg' };\n",
    );
    let doc = read_within(Path::new("bg.config.js"), &ctx(d.path()), node::TIMEOUT).unwrap();
    assert_eq!(apps(&doc), [json!({"name": "bg"})]);
    let pid: u32 = fs::read_to_string(d.path().join("pid"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait_until(Duration::from_secs(5), || !alive(pid)));
}

#[test]
fn without_node_on_path_a_js_config_is_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    write(d.path(), "ecosystem.config.js", "module.exports = {};\n");
    let ctx = Context {
        env: vec![("PATH".into(), empty.path().into())],
        cwd: d.path().to_path_buf(),
    };
    let err = read(Path::new("ecosystem.config.js"), &ctx).unwrap_err();
    assert!(matches!(err, Error::NodeMissing { .. }), "{err:?}");
    assert_eq!(err.exit_code(), 66);
    assert!(err.to_string().contains("no `node` on PATH"), "{err}");
    let help = err.help().unwrap();
    assert!(help.contains("install Node.js") && help.contains("JSON, YAML or TOML"));
}

// ---------------------------------------------------------------- starters

#[test]
fn every_starter_reads_back_as_the_same_two_apps() {
    let d = tempfile::tempdir().unwrap();
    let files = [
        ("ecosystem.config.js", Format::Js),
        ("ecosystem.json", Format::Json),
        ("ecosystem.yaml", Format::Yaml),
        ("ecosystem.toml", Format::Toml),
    ];
    let want = [
        json!({
            "name": "api", "script": "server.js", "args": [], "cwd": ".", "port": 3000,
            "env": {"NODE_ENV": "development"}, "env_production": {"NODE_ENV": "production"},
            "autorestart": true, "max_restarts": 10, "min_uptime": 1000, "restart_delay": 100,
            "kill_timeout": 3000,
        }),
        json!({"name": "web", "script": "python3 -m http.server 8080"}),
    ];
    for (file, format) in files {
        assert_eq!(format_of(Path::new(file)), Some(format));
        write(d.path(), file, starter(format));
        let doc = read_in(d.path(), file).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(apps(&doc), want, "{file}");
        if format != Format::Json {
            assert!(starter(format).contains("max_log_size"), "{file}");
        }
    }
}

// ---------------------------------------------------------------- pm2's fields

/// A planner over a scratch store in `dir` (nothing is started: plans only).
fn planner(dir: &Path) -> crate::ops::Tpm {
    let mut c = ctx(dir);
    c.env.push(("TETRA_DIR".into(), dir.join("tetra").into()));
    crate::ops::Tpm::new(c, PathBuf::from("/nonexistent/tpm")).unwrap()
}

fn plan_of(dir: &Path, file: &str) -> Result<crate::ops::FilePlan> {
    planner(dir).plan_file(file, &crate::ops::FileChoice::default())
}

fn env_of(plan: &crate::ops::Plan, key: &str) -> Option<String> {
    plan.spec
        .env
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

#[test]
fn cmd_and_exec_say_what_to_run_as_script_does() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "echo.py", "print('hi')\n");
    write(d.path(), "job.js", "\n");
    write(
        d.path(),
        "e.json",
        r#"{"apps": [
            {"name": "py", "cmd": "echo.py", "port": 3001},
            {"name": "js", "exec": "job.js", "port": 3002},
            {"name": "both", "script": "job.js", "cmd": "echo.py", "port": 3003}
        ]}"#,
    );
    let plan = plan_of(d.path(), "e.json").unwrap();
    let cmds: Vec<Vec<String>> = plan.plans.iter().map(|p| p.spec.cmd.clone()).collect();
    let at = |f: &str| d.path().join(f).to_str().unwrap().to_string();
    assert_eq!(
        cmds,
        [
            vec!["python3".to_string(), at("echo.py")],
            vec!["node".to_string(), at("job.js")],
            vec!["node".to_string(), at("job.js")],
        ]
    );
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("both") && w.contains("`cmd` is not used")),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn a_folder_script_runs_its_main_or_its_index_js() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "api/index.js", "\n");
    write(d.path(), "web/package.json", r#"{"main": "lib/start"}"#);
    write(d.path(), "web/lib/start.js", "\n");
    write(d.path(), "empty/README", "\n");
    write(
        d.path(),
        "e.yaml",
        "apps:\n  - {name: api, script: ./api, port: 3001}\n  - {name: web, script: web, port: 3002}\n",
    );
    let plan = plan_of(d.path(), "e.yaml").unwrap();
    let at = |f: &str| d.path().join(f).to_str().unwrap().to_string();
    assert_eq!(
        plan.plans[0].spec.cmd,
        ["node".to_string(), at("api/index.js")]
    );
    assert_eq!(
        plan.plans[1].spec.cmd,
        ["node".to_string(), at("web/lib/start.js")]
    );
    // A folder with neither is not runnable (66), as before.
    write(
        d.path(),
        "x.yaml",
        "apps:\n  - {name: e, script: empty, port: 3003}\n",
    );
    assert_eq!(plan_of(d.path(), "x.yaml").unwrap_err().exit_code(), 66);
}

#[test]
fn a_command_on_path_runs_with_its_args_and_an_interpreter_given_for_it_is_dropped() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "e.json",
        r#"{"apps": [
            {"name": "front", "script": "sleep", "args": "1000 --port 3001"},
            {"name": "listed", "script": "sleep", "args": ["1000", "--port", "3002"], "interpreter": "node", "node_args": "--max-old-space-size=64"}
        ]}"#,
    );
    let plan = plan_of(d.path(), "e.json").unwrap();
    assert_eq!(plan.plans[0].spec.cmd, ["sleep", "1000", "--port", "3001"]);
    assert_eq!(plan.plans[1].spec.cmd, ["sleep", "1000", "--port", "3002"]);
    let said: Vec<&String> = plan
        .warnings
        .iter()
        .filter(|w| w.contains("listed") && w.contains("interpreter: node"))
        .collect();
    assert_eq!(said.len(), 1, "{:?}", plan.warnings);
    assert!(said[0].contains("run as it is"), "{}", said[0]);
}

#[test]
fn instances_exec_mode_instance_var_and_increment_var_as_pm2_reads_them() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "w.js", "\n");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    write(
        d.path(),
        "e.json",
        r#"{"apps": [
            {"name": "two", "script": "w.js", "port": 4000, "instances": "2", "exec_mode": "cluster_mode"},
            {"name": "max", "script": "w.js", "port": 4100, "instances": "max", "exec_mode": "fork"},
            {"name": "less", "script": "w.js", "port": 4200, "instances": -1},
            {"name": "ids", "script": "w.js", "port": 4300, "instances": 2,
             "instance_var": "INSTANCE_ID", "increment_var": "SHARD", "env": {"SHARD": "10"}},
            {"name": "ports", "script": "w.js", "port": 4400, "instances": 2, "increment_var": "PORT"}
        ]}"#,
    );
    let plan = plan_of(d.path(), "e.json").unwrap();
    let count = |prefix: &str| {
        plan.plans
            .iter()
            .filter(|p| p.name.as_str().starts_with(prefix))
            .count()
    };
    assert_eq!(count("two-4000-"), 2);
    assert_eq!(count("max-4100-"), cores);
    assert_eq!(count("less-4200-"), cores.saturating_sub(1).max(1));
    let ids: Vec<&crate::ops::Plan> = plan
        .plans
        .iter()
        .filter(|p| p.name.as_str().starts_with("ids-"))
        .collect();
    assert_eq!(ids.len(), 2);
    for (i, p) in ids.iter().enumerate() {
        assert_eq!(p.spec.cluster.instance_var.as_deref(), Some("INSTANCE_ID"));
        assert_eq!(
            p.spec.incremented(i as u32),
            Some(("SHARD".to_string(), (10 + i).to_string()))
        );
        assert_eq!(
            env_of(p, "SHARD").as_deref(),
            Some("10"),
            "the app's value is kept"
        );
    }
    let ports: Vec<Option<u16>> = plan
        .plans
        .iter()
        .filter(|p| p.name.as_str().starts_with("ports-"))
        .map(|p| p.spec.port)
        .collect();
    assert_eq!(ports, [Some(4400), Some(4401)]);
}

#[test]
fn watch_as_pm2_takes_it_false_with_ignores_a_glob_and_a_missing_cwd() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "w.js", "\n");
    write(d.path(), "src/a.js", "\n");
    write(
        d.path(),
        "e.json",
        r#"{"apps": [
            {"name": "off", "script": "w.js", "port": 4000, "watch": false, "ignore_watch": ["node_modules", "logs"]},
            {"name": "none", "script": "w.js", "port": 4001, "ignore_watch": "logs"},
            {"name": "glob", "script": "w.js", "port": 4002, "watch": ["src/**/*.js"], "ignore_watch": "*.log"}
        ]}"#,
    );
    let plan = plan_of(d.path(), "e.json").unwrap();
    assert_eq!(plan.plans[0].spec.watch, None);
    assert_eq!(plan.plans[1].spec.watch, None);
    let glob = plan.plans[2].spec.watch.clone().unwrap();
    assert_eq!(glob.paths, [d.path().join("src").to_str().unwrap()]);
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("src/**/*.js") && w.contains("watches src")),
        "{:?}",
        plan.warnings
    );
    // A cwd that does not exist: a clear error naming it, not a crash.
    write(
        d.path(),
        "gone.json",
        r#"{"apps": [{"name": "gone", "script": "w.js", "port": 4003, "cwd": "not/yet", "watch": true}]}"#,
    );
    let err = plan_of(d.path(), "gone.json").unwrap_err();
    assert_eq!(err.exit_code(), 66);
    assert!(err.to_string().contains("not/yet"), "{err}");
}

#[test]
fn env_file_is_read_under_env() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "w.js", "\n");
    write(
        d.path(),
        ".env",
        "# settings\nexport A=from-file\nB='single $quoted'\nC=\"double \\\"quoted\\\"\"\nD=bare # comment\n\n",
    );
    write(d.path(), "more.env", "D=second\n");
    write(
        d.path(),
        "e.json",
        r#"{"apps": [
            {"name": "one", "script": "w.js", "port": 4000, "env_file": ".env", "env": {"A": "from-env"}},
            {"name": "two", "script": "w.js", "port": 4001, "env_file": [".env", "more.env"]}
        ]}"#,
    );
    let plan = plan_of(d.path(), "e.json").unwrap();
    let one = &plan.plans[0];
    assert_eq!(env_of(one, "A").as_deref(), Some("from-env"));
    assert_eq!(env_of(one, "B").as_deref(), Some("single $quoted"));
    assert_eq!(env_of(one, "C").as_deref(), Some("double \"quoted\""));
    assert_eq!(env_of(one, "D").as_deref(), Some("bare"));
    assert_eq!(env_of(&plan.plans[1], "D").as_deref(), Some("second"));
    write(
        d.path(),
        "missing.json",
        r#"{"apps": [{"name": "m", "script": "w.js", "port": 4002, "env_file": "nope.env"}]}"#,
    );
    let err = plan_of(d.path(), "missing.json").unwrap_err();
    assert!(err.to_string().contains("nope.env"), "{err}");
}

#[test]
fn pm2_fields_are_honoured_silent_or_one_warning_each() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "w.js", "\n");
    write(
        d.path(),
        "e.json",
        r#"{"apps": [{"name": "api", "script": "w.js", "port": 4000,
            "vizion": false, "source_map_support": true, "pmx": false, "automation": false,
            "treekill": true, "watch_options": {"usePolling": true}, "kill_retry_time": 100,
            "time": true, "exp_backoff_restart_delay": 150, "cron": "0 4 * * *",
            "min_uptime": "2s", "listen_timeout": 8000, "max_memory_restart": "300M",
            "autorestart": true, "stop_exit_codes": [0], "kill_timeout": 1600,
            "out_file": "/dev/null", "error_file": "./logs/err.log", "merge_logs": true,
            "log_date_format": "YYYY-MM-DD HH:mm Z", "namespace": "backend", "uid": "www",
            "frobnicate": 1}]}"#,
    );
    let plan = plan_of(d.path(), "e.json").unwrap();
    let spec = &plan.plans[0].spec;
    assert_eq!(spec.policy.restart_delay, Duration::from_millis(150));
    assert_eq!(spec.cron_restart.as_deref(), Some("0 4 * * *"));
    assert_eq!(spec.policy.max_memory, 300 << 20);
    assert_eq!(spec.policy.kill_timeout, Duration::from_millis(1600));
    // `/dev/null` throws the stream away; another path is not written, and said so.
    assert_eq!((spec.discard.out, spec.discard.err), (true, false));
    let warned = |field: &str| {
        plan.warnings
            .iter()
            .filter(|w| w.contains(&format!("`{field}")))
            .count()
    };
    for silent in [
        "vizion",
        "source_map_support",
        "pmx",
        "treekill",
        "watch_options",
        "time",
        "out_file",
    ] {
        assert_eq!(warned(silent), 0, "{silent}: {:?}", plan.warnings);
    }
    for told in [
        "error_file",
        "merge_logs",
        "log_date_format",
        "namespace",
        "uid",
        "frobnicate",
    ] {
        assert_eq!(warned(told), 1, "{told}: {:?}", plan.warnings);
    }
    assert_eq!(plan.warnings.len(), 6, "{:?}", plan.warnings);
}

#[test]
fn autostart_false_is_left_out_unless_named() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "w.js", "\n");
    write(
        d.path(),
        "e.json",
        r#"{"apps": [{"name": "a", "script": "w.js", "port": 4000},
                     {"name": "b", "script": "w.js", "port": 4001, "autostart": false}]}"#,
    );
    let plan = plan_of(d.path(), "e.json").unwrap();
    assert_eq!(plan.plans.len(), 1);
    assert!(
        plan.warnings.iter().any(|w| w.contains("autostart")),
        "{:?}",
        plan.warnings
    );
    let only = crate::ops::FileChoice {
        only: vec!["b".into()],
        ..Default::default()
    };
    assert_eq!(
        planner(d.path())
            .plan_file("e.json", &only)
            .unwrap()
            .plans
            .len(),
        1
    );
}

#[test]
fn every_problem_of_a_file_is_listed_with_its_app_and_the_first_exit_code() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "w.js", "\n");
    write(
        d.path(),
        "e.json",
        r#"{"apps": [
            {"name": "good", "script": "w.js", "port": 4000},
            {"name": "many", "script": "w.js", "port": 4001, "instances": "lots", "exec_mode": "turbo"},
            {"name": "gone", "script": "missing.js", "port": 4002},
            7
        ]}"#,
    );
    // The shape is checked first: an app that is not an object is the file's problem.
    let err = plan_of(d.path(), "e.json").unwrap_err();
    assert!(err.to_string().contains("app #4"), "{err}");
    write(
        d.path(),
        "e.json",
        r#"{"apps": [
            {"name": "good", "script": "w.js", "port": 4000},
            {"name": "many", "script": "w.js", "port": 4001, "instances": "lots", "exec_mode": "turbo"},
            {"name": "gone", "script": "missing.js", "port": 4002}
        ]}"#,
    );
    let err = plan_of(d.path(), "e.json").unwrap_err();
    let problems = err.problems();
    assert_eq!(problems.len(), 3, "{err}");
    // A field's problem says its line (the fields are on the app's line here).
    let lines: Vec<Option<usize>> = problems
        .iter()
        .map(|p| match p {
            Error::Ecosystem { line, .. } => *line,
            _ => None,
        })
        .collect();
    assert_eq!(lines, [Some(3), Some(3), None], "{err}");
    let text = err.to_string();
    for part in [
        "many: `instances`",
        "many: `exec_mode`",
        "gone: script not found",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    assert!(text.contains("e.json"), "{text}");
    assert_eq!(err.exit_code(), 64, "the first problem's");
    assert!(err.help().is_some());
    // Reordered, the first is the missing script: 66.
    write(
        d.path(),
        "f.json",
        r#"[{"name": "gone", "script": "missing.js", "port": 4002},
            {"name": "many", "script": "w.js", "port": 4001, "instances": "lots"}]"#,
    );
    let err = plan_of(d.path(), "f.json").unwrap_err();
    assert_eq!((err.problems().len(), err.exit_code()), (2, 66));
}

#[test]
fn a_fields_line_is_found_after_its_apps_name_in_every_format() {
    let js = "module.exports = {\n  apps: [\n    {\n      name: 'api',\n      script: 'a.js',\n      instances: 'lots',\n    },\n    { name: \"web\", instances: 2 },\n  ],\n};\n";
    assert_eq!(field_line(js, "api", Some("web"), "instances"), Some(6));
    assert_eq!(field_line(js, "web", None, "instances"), Some(8));
    assert_eq!(field_line(js, "api", Some("web"), "watch"), None);
    let yaml = "apps:\n  - name: api\n    script: a.js\n    max_restarts: x\n  - name: web\n";
    assert_eq!(
        field_line(yaml, "api", Some("web"), "max_restarts"),
        Some(4)
    );
    let toml = "[[apps]]\nname = \"api\"\nscript_x = 1\nscript = \"a.js\"\n";
    assert_eq!(field_line(toml, "api", None, "script"), Some(4));
    // A key that only contains the field's name is not it.
    assert_eq!(
        field_line("{\"name\": \"a\", \"my_watch\": 1}", "a", None, "watch"),
        None
    );
}
