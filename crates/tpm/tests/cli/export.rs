//! `tpm export`: the same apps as files other engines run, each checked by a real validator
//! (`systemd-analyze verify`, `check-jsonschema` with the compose spec, `kubernetes-validate`,
//! python-hcl2 for the Nomad job file) and read back field by field: exact argv, cwd,
//! environment with PORT, the port, the restart and stop policy; secrets never written.
//!
//! The PyPI validators live in a venv that `./test.sh` makes (`TPM_TEST_VENV`, else
//! `.ci/cache/validators`); without it these tests fail and say how to get it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tpm_testkit::{program, Run, Sandbox};

/// The secret's value: no exported file may contain it.
const SECRET: &str = "hunter2-do-not-print";

/// The arguments of the script app: spaces, quotes, `$`, `%`, `${}`, `;`.
const ARGS: [&str; 6] = ["--label", "a b", "$HOME", "100%", "${x} %{y}", ";"];

/// A venv tool, or a failure that says how to get it.
fn validator(tool: &str) -> PathBuf {
    let venv = std::env::var_os("TPM_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/cache/validators")
        });
    let path = venv.join("bin").join(tool);
    assert!(
        path.is_file(),
        "{} is missing: ./test.sh installs the validators, or run\n  python3 -m venv .ci/cache/validators && .ci/cache/validators/bin/pip install -r .ci/validators.txt",
        path.display()
    );
    path
}

/// Two apps in an ecosystem file: a script in its own folder with arguments, variables, a
/// secret, a port and a policy; and a command string.
fn apps(s: &Sandbox) -> PathBuf {
    s.file(
        "api/server.sh",
        "#!/usr/bin/env bash\necho \"$GREETING on $PORT\"\nexec sleep 100000\n",
        0o755,
    );
    let file = serde_json::json!({
        "apps": [
            {
                "name": "api",
                "script": "server.sh",
                "args": ARGS,
                "cwd": "api",
                "port": 4000,
                "env": { "GREETING": "hello \"world\" $USER 50%", "DB_PASSWORD": SECRET },
                "max_restarts": 3,
                "kill_timeout": 5000,
            },
            {
                "name": "web",
                "script": "sleep 100000 7777",
                "restart_delay": "2s",
                "max_restarts": 0,
                "ready_http": "/health",
            },
        ]
    });
    s.file("apps.json", &file.to_string(), 0o644)
}

/// Apps started by tpm (so exported from the store, with the PATH they run with).
fn started(s: &Sandbox) {
    let file = apps(s);
    // The apps listen on nothing: --force, so that whatever else on this machine holds
    // their ports (a server, another test) does not matter.
    s.tpm(["start", file.to_str().unwrap(), "--force"]).ok();
}

fn export(s: &Sandbox, args: &[&str]) -> Run {
    let run = s.tpm([&["export"], args].concat());
    assert!(
        !run.stdout.contains(SECRET) && !run.stderr.contains(SECRET),
        "a secret was printed:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    run
}

/// Exports into a fresh folder; returns it.
fn export_to(s: &Sandbox, folder: &str, args: &[&str]) -> PathBuf {
    let dir = s.path().join(folder);
    let run = export(s, &[args, &["-o", dir.to_str().unwrap()]].concat());
    run.ok();
    for entry in fs::read_dir(&dir).unwrap() {
        let text = fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains(SECRET), "a secret was written:\n{text}");
    }
    dir
}

fn run(command: &mut Command) -> Run {
    Run::from_output(command.output().expect("run the validator"))
}

/// YAML or HCL read by the venv's Python into JSON.
fn python_json(script: &str, file: &Path) -> Value {
    let out = run(Command::new(validator("python"))
        .arg("-c")
        .arg(script)
        .arg(file));
    out.ok();
    out.json()
}

const YAML_TO_JSON: &str =
    "import json, sys, yaml\nprint(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))";

/// python-hcl2 keeps strings as HCL wrote them (quoted, escaped): decoded here, so the
/// values read back are the strings Nomad gets.
const HCL_TO_JSON: &str = r#"
import json, sys, hcl2
from hcl2.utils import SerializationOptions
def text(s):
    if len(s) >= 2 and s[0] == '"' and s[-1] == '"':
        return json.loads(s).replace("$${", "${").replace("%%{", "%{")
    return s
def norm(v):
    if isinstance(v, dict):
        return {text(k): norm(x) for k, x in v.items() if k not in ("__is_block__", "__comments__")}
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, str):
        return text(v)
    return v
doc = hcl2.load(open(sys.argv[1]), serialization_options=SerializationOptions(with_comments=False))
print(json.dumps(norm(doc)))
"#;

fn env_of(list: &Value) -> Vec<(String, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .filter_map(|e| Some((e["name"].as_str()?.into(), e["value"].as_str()?.into())))
        .collect()
}

#[test]
fn systemd_units_pass_systemd_analyze_verify_with_the_exact_argv_env_and_policy() {
    let s = Sandbox::new();
    started(&s);
    let user = export_to(&s, "user", &["systemd", "--user"]);
    let system = export_to(&s, "system", &["systemd", "--system", "all"]);
    let runtime = tempfile::tempdir().unwrap();
    for (dir, mode) in [(&user, Some("--user")), (&system, None)] {
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "tpm-api-4000.service",
                "tpm-apps.target",
                "tpm-web-7777.service"
            ]
        );
        let mut verify = Command::new(program("systemd-analyze"));
        verify.env("XDG_RUNTIME_DIR", runtime.path());
        verify.args(mode).arg("verify").args(&files);
        let out = run(&mut verify);
        // verify exits 0 on many complaints: its stderr is the real check.
        assert!(
            out.code == 0 && out.stderr.trim().is_empty(),
            "{mode:?}: {}\n{}",
            out.stderr,
            fs::read_to_string(&files[0]).unwrap()
        );
    }
    let unit = fs::read_to_string(user.join("tpm-api-4000.service")).unwrap();
    let script = s.path().join("api/server.sh");
    let exec = format!(
        "ExecStart=\"{}\" \"--label\" \"a b\" \"$$HOME\" \"100%%\" \"$${{x}} %%{{y}}\" \\;\n",
        script.display()
    );
    for line in [
        exec.as_str(),
        &format!("WorkingDirectory={}\n", s.path().join("api").display()),
        "Environment=\"GREETING=hello \\\"world\\\" $USER 50%%\"\n",
        "Environment=\"PORT=4000\"\n",
        "Environment=\"TPM_NAME=api-4000\"\n",
        "EnvironmentFile=%E/tpm/api-4000.env\n",
        "Restart=always\n",
        "RestartSec=100ms\n",
        "StartLimitBurst=3\n",
        "StartLimitIntervalSec=3297ms\n",
        "KillMode=control-group\n",
        "KillSignal=SIGTERM\n",
        "TimeoutStopSec=5s\n",
    ] {
        assert!(unit.contains(line), "{line}not in:\n{unit}");
    }
    assert!(unit.contains("\nEnvironment=\"PATH="), "{unit}");
    let web = fs::read_to_string(system.join("tpm-web-7777.service")).unwrap();
    let sleep = program("sleep");
    assert!(
        web.contains(&format!(
            "ExecStart=\"{}\" \"100000\" \"7777\"\n",
            sleep.display()
        )),
        "{web}"
    );
    assert!(web.contains("\nStartLimitIntervalSec=0\n"), "{web}");
    assert!(web.contains("\nUser="), "{web}");
    let target = fs::read_to_string(system.join("tpm-apps.target")).unwrap();
    assert!(target.contains("Wants=tpm-api-4000.service tpm-web-7777.service\n"));
    assert!(target.contains("WantedBy=multi-user.target\n"));
}

#[test]
fn the_nomad_job_file_parses_as_hcl_and_holds_every_field() {
    let s = Sandbox::new();
    started(&s);
    let dir = export_to(&s, "nomad", &["nomad"]);
    let job = python_json(HCL_TO_JSON, &dir.join("tpm-apps.nomad.hcl"));
    let job = &job["job"][0]["tpm-apps"];
    assert_eq!(job["type"], "service");
    let api = &job["group"][0]["api-4000"];
    assert_eq!(api["count"], 1);
    assert_eq!(api["network"][0]["port"][0]["app"]["static"], 4000);
    let restart = &api["restart"][0];
    assert_eq!(restart["attempts"], 2);
    assert_eq!(restart["mode"], "fail");
    assert_eq!(restart["delay"], "100ms");
    assert_eq!(restart["interval"], "5s");
    assert_eq!(api["reschedule"][0]["attempts"], 0);
    let task = &api["task"][0]["api-4000"];
    assert_eq!(task["driver"], "raw_exec");
    assert_eq!(task["kill_timeout"], "5s");
    assert_eq!(task["kill_signal"], "SIGTERM");
    let config = &task["config"][0];
    assert_eq!(
        config["command"],
        s.path().join("api/server.sh").to_str().unwrap()
    );
    assert_eq!(config["args"], serde_json::json!(ARGS));
    assert_eq!(config["work_dir"], s.path().join("api").to_str().unwrap());
    let env = &task["env"];
    assert_eq!(env["GREETING"], "hello \"world\" $USER 50%");
    assert_eq!(env["PORT"], "4000");
    assert_eq!(env["TPM_NAME"], "api-4000");
    assert!(env["PATH"].is_string(), "{env}");
    // The secret is an input variable the job cannot run without.
    assert_eq!(env["DB_PASSWORD"], "${var.secret_api_4000_DB_PASSWORD}");
    let web = &job["group"][1]["web-7777"];
    assert_eq!(web["restart"][0]["mode"], "delay");
    assert!(web.get("reschedule").is_none(), "{web}");

    // The API's JSON: PascalCase, durations in nanoseconds.
    let out = export(&s, &["nomad", "--format", "json", "api-4000"]);
    out.ok();
    let job = &out.json()["Job"];
    assert_eq!(job["ID"], "tpm-apps");
    let group = &job["TaskGroups"][0];
    assert_eq!(group["Networks"][0]["ReservedPorts"][0]["Value"], 4000);
    assert_eq!(group["RestartPolicy"]["Delay"], 100_000_000u64);
    let task = &group["Tasks"][0];
    assert_eq!(task["KillTimeout"], 5_000_000_000u64);
    assert_eq!(task["Config"]["args"], serde_json::json!(ARGS));
    assert_eq!(task["Env"]["DB_PASSWORD"], "<fill in DB_PASSWORD>");
    assert!(out.stderr.contains("DB_PASSWORD"), "{}", out.stderr);
}

#[test]
fn the_compose_file_passes_the_compose_spec_and_keeps_values_literal() {
    let s = Sandbox::new();
    started(&s);
    let dir = export_to(&s, "compose", &["compose", "--image", "python:3.11-slim"]);
    let file = dir.join("compose.yaml");
    let out = run(Command::new(validator("check-jsonschema"))
        .args(["--builtin-schema", "vendor.compose-spec"])
        .arg(&file));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let doc = &python_json(YAML_TO_JSON, &file)[0];
    let api = &doc["services"]["api-4000"];
    assert_eq!(api["image"], "python:3.11-slim");
    let script = s.path().join("api/server.sh");
    assert_eq!(api["entrypoint"], serde_json::json!([script]));
    // `$` doubled: compose reads `$$` as `$`, so the argv is exactly tpm's.
    let doubled: Vec<String> = ARGS.iter().map(|a| a.replace('$', "$$")).collect();
    assert_eq!(api["command"], serde_json::json!(doubled));
    assert_eq!(api["working_dir"], s.path().join("api").to_str().unwrap());
    assert_eq!(api["environment"]["PORT"], "4000");
    assert_eq!(api["environment"]["GREETING"], "hello \"world\" $$USER 50%");
    assert_eq!(
        api["environment"]["DB_PASSWORD"],
        "${DB_PASSWORD:?set DB_PASSWORD for api-4000}"
    );
    assert!(api["environment"].get("PATH").is_none());
    assert_eq!(api["ports"][0]["target"], 4000);
    assert_eq!(api["restart"], "unless-stopped");
    assert_eq!(api["stop_grace_period"], "5s");
    assert_eq!(api["stop_signal"], "SIGTERM");
    assert_eq!(
        doc["services"]["web-7777"]["entrypoint"],
        serde_json::json!(["sleep"])
    );
}

#[test]
fn kubernetes_manifests_pass_kubernetes_validate_with_a_deployment_and_service_per_app() {
    let s = Sandbox::new();
    started(&s);
    let dir = export_to(
        &s,
        "k8s",
        &["kubernetes", "--image", "registry.example/app:1.0"],
    );
    let file = dir.join("tpm-apps.yaml");
    let out = run(Command::new(validator("kubernetes-validate"))
        .arg("--strict")
        .arg(&file));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let docs = python_json(YAML_TO_JSON, &file);
    let kinds: Vec<&str> = docs
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| !d.is_null())
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Deployment", "Service", "Deployment", "Service"]);
    let deployment = &docs[0];
    assert_eq!(deployment["spec"]["replicas"], 1);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["terminationGracePeriodSeconds"], 5);
    let c = &pod["containers"][0];
    assert_eq!(
        c["command"],
        serde_json::json!([s.path().join("api/server.sh")])
    );
    let doubled: Vec<String> = ARGS.iter().map(|a| a.replace('$', "$$")).collect();
    assert_eq!(c["args"], serde_json::json!(doubled));
    assert_eq!(c["workingDir"], s.path().join("api").to_str().unwrap());
    assert_eq!(c["ports"][0]["containerPort"], 4000);
    assert_eq!(c["readinessProbe"]["tcpSocket"]["port"], 4000);
    // --ready-http becomes an HTTP probe on the same path and port.
    let web = &docs[2]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"];
    assert_eq!(
        (&web["httpGet"]["path"], &web["httpGet"]["port"]),
        (&serde_json::json!("/health"), &serde_json::json!(7777))
    );
    let env = env_of(&c["env"]);
    assert!(env.contains(&("PORT".into(), "4000".into())), "{env:?}");
    assert!(
        env.contains(&("TPM_NAME".into(), "api-4000".into())),
        "{env:?}"
    );
    let secret = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "DB_PASSWORD")
        .unwrap();
    assert_eq!(
        secret["valueFrom"]["secretKeyRef"]["name"],
        "api-4000-secrets"
    );
    assert_eq!(docs[1]["spec"]["ports"][0]["port"], 4000);
}

#[test]
fn an_ecosystem_file_is_exported_without_starting_anything() {
    let s = Sandbox::new();
    let file = apps(&s);
    let out = export(
        &s,
        &[
            "compose",
            file.to_str().unwrap(),
            "--image",
            "x",
            "--only",
            "web",
        ],
    );
    out.ok();
    assert!(out.stdout.contains("web-7777:"), "{}", out.stdout);
    assert!(!out.stdout.contains("api-4000"), "{}", out.stdout);
    assert!(s.list().is_empty());
}

#[test]
fn secrets_are_never_written_and_stderr_says_what_to_fill_in() {
    let s = Sandbox::new();
    let file = apps(&s);
    let file = file.to_str().unwrap();
    for (args, says) in [
        (vec!["systemd", file], "~/.config/tpm/api-4000.env"),
        (
            vec!["nomad", file],
            "nomad job run -var secret_api_4000_DB_PASSWORD=",
        ),
        (vec!["compose", file, "--image", "x"], "set DB_PASSWORD"),
        (
            vec!["kubernetes", file, "--image", "x"],
            "kubectl create secret generic api-4000-secrets --from-literal=DB_PASSWORD=",
        ),
    ] {
        let out = export(&s, &args);
        out.ok();
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn containers_need_an_image_and_flags_belong_to_their_engine() {
    let s = Sandbox::new();
    let file = apps(&s);
    let file = file.to_str().unwrap();
    for engine in ["compose", "kubernetes"] {
        let out = export(&s, &[engine, file]);
        out.code(64);
        assert!(out.stderr.contains("--image"), "{}", out.stderr);
        assert!(out.stderr.contains("help:"), "{}", out.stderr);
    }
    let out = export(&s, &["systemd", file, "--image", "x"]);
    out.code(64);
    assert!(out
        .stderr
        .contains("--image is for tpm export compose and kubernetes"));
    export(&s, &["compose", file, "--image", "x", "--format", "json"]).code(64);
    // Nothing to export is said, not an empty file.
    export(&s, &["nomad"]).code(64);
}

#[test]
fn export_o_never_replaces_a_file_it_did_not_write_without_force() {
    let s = Sandbox::new();
    let file = apps(&s);
    let file = file.to_str().unwrap();
    let dir = s.path().join("deploy");
    let out_dir = dir.to_str().unwrap();
    let mine = s.file("deploy/compose.yaml", "services: {}\n", 0o644);
    let out = export(&s, &["compose", file, "--image", "x", "-o", out_dir]);
    out.code(64);
    assert!(
        out.stderr.contains("not written by tpm export"),
        "{}",
        out.stderr
    );
    assert_eq!(fs::read_to_string(&mine).unwrap(), "services: {}\n");
    let out = export(
        &s,
        &[
            "compose", file, "--image", "x", "-o", out_dir, "--force", "--json",
        ],
    );
    out.ok();
    assert_eq!(out.json()["files"][0], mine.to_str().unwrap());
    // Its own file, it replaces.
    export(&s, &["compose", file, "--image", "y", "-o", out_dir]).ok();
    assert!(fs::read_to_string(&mine).unwrap().contains("image: y"));
}

#[test]
fn a_stop_signal_kubernetes_cannot_take_is_said() {
    let s = Sandbox::new();
    s.file("w.sh", "exec sleep 100000\n", 0o644);
    s.tpm([
        "start",
        "w.sh",
        "--port",
        "7801",
        "--stop-signal",
        "INT",
        "--force",
    ])
    .ok();
    let out = export(&s, &["kubernetes", "--image", "x:1"]);
    out.ok();
    assert!(
        out.stderr.contains("stops on SIGINT") && out.stderr.contains("STOPSIGNAL SIGINT"),
        "{}",
        out.stderr
    );
    // compose has the field: no note there.
    let out = export(&s, &["compose", "--image", "x:1"]);
    assert!(
        out.ok().stdout.contains("stop_signal: SIGINT"),
        "{}",
        out.stdout
    );
    assert!(!out.stderr.contains("STOPSIGNAL"), "{}", out.stderr);
}

/// Arguments and values holding what each engine reads specially: `$` (systemd, compose
/// and Kubernetes expand it), `%` (systemd's specifiers), `${` and `%{` (HCL), quotes,
/// spaces, backslashes, a lone `;` (systemd's separator).
const ODD: [&str; 9] = [
    "$HOME",
    "${x}",
    "$(y)",
    "$$",
    "100% %{z}",
    "a \"b\" 'c'",
    "back\\slash\\",
    " sp ace ",
    ";",
];

/// Two apps whose programs and working folders have odd names: one with `$`, `%` and a
/// space (and a trailing space, which a unit line would lose), one with quotes and a
/// backslash (and a trailing backslash, which would join the next line).
fn odd_apps(s: &Sandbox) -> (PathBuf, [PathBuf; 2]) {
    let dirs = ["p$x %y b ", "q\"'\\ z\\"];
    let folders = dirs.map(|d| {
        s.file(
            &format!("{d}/w.sh"),
            "#!/bin/sh\nexec sleep 100000\n",
            0o755,
        );
        s.path().join(d)
    });
    let env = serde_json::json!({ "V": ODD.join("|"), "W": "$$ 50% ${v} back\\" });
    let apps: Vec<Value> = folders
        .iter()
        .zip([4100, 4101])
        .map(|(dir, port)| {
            serde_json::json!({
                "name": "odd",
                "script": dir.join("w.sh"),
                "args": ODD,
                "cwd": dir,
                "port": port,
                "env": env,
            })
        })
        .collect();
    let file = s.file(
        "odd.json",
        &serde_json::json!({ "apps": apps }).to_string(),
        0o644,
    );
    (file, folders)
}

#[test]
fn odd_characters_in_programs_arguments_folders_and_values_pass_every_engine_as_written() {
    let s = Sandbox::new();
    let (file, [plain, quoted]) = odd_apps(&s);
    let file = file.to_str().unwrap();
    let program = |dir: &Path| dir.join("w.sh").to_str().unwrap().to_string();
    let v = ODD.join("|");
    let w = "$$ 50% ${v} back\\";

    // systemd: the units verify, which needs each program to be found and executable.
    let units = export_to(&s, "units", &["systemd", file]);
    let runtime = tempfile::tempdir().unwrap();
    let mut files: Vec<PathBuf> = fs::read_dir(&units)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let out = run(Command::new(tpm_testkit::program("systemd-analyze"))
        .env("XDG_RUNTIME_DIR", runtime.path())
        .args(["--user", "verify"])
        .args(&files));
    let a = fs::read_to_string(units.join("tpm-odd-4100.service")).unwrap();
    let b = fs::read_to_string(units.join("tpm-odd-4101.service")).unwrap();
    assert!(
        out.code == 0 && out.stderr.trim().is_empty(),
        "{}\n{a}\n{b}",
        out.stderr
    );
    // Read back by systemd's rules: C escapes and `%%` everywhere; `$$` in arguments only.
    let args = r#""$$HOME" "$${x}" "$$(y)" "$$$$" "100%% %%{z}" "a \"b\" 'c'" "back\\slash\\" " sp ace " \;"#;
    let plain_path = program(&plain).replace('%', "%%");
    for line in [
        format!("ExecStart=\"{plain_path}\" {args}\n"),
        format!(
            "WorkingDirectory={}/\n",
            plain.display().to_string().replace('%', "%%")
        ),
        format!(
            "Environment=\"V={}\"\n",
            v.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('%', "%%")
        ),
        "Environment=\"W=$$ 50%% ${v} back\\\\\"\n".to_string(),
    ] {
        assert!(a.contains(&line), "{line}not in:\n{a}");
    }
    // systemd refuses a program path with a quote or backslash: env runs it.
    let quoted_path = program(&quoted).replace('\\', "\\\\").replace('"', "\\\"");
    for line in [
        format!("ExecStart=/usr/bin/env \"{quoted_path}\" {args}\n"),
        format!("WorkingDirectory={}/\n", quoted.display()),
    ] {
        assert!(b.contains(&line), "{line}not in:\n{b}");
    }

    // Nomad: HCL as python-hcl2 reads it, then its `$${` and `%%{` escapes undone.
    let dir = export_to(&s, "nomad", &["nomad", file]);
    let job = python_json(HCL_TO_JSON, &dir.join("tpm-apps.nomad.hcl"));
    for (i, (folder, port)) in [(&plain, 4100), (&quoted, 4101)].into_iter().enumerate() {
        let name = format!("odd-{port}");
        let task = &job["job"][0]["tpm-apps"]["group"][i][&name]["task"][0][&name];
        let config = &task["config"][0];
        assert_eq!(config["command"], program(folder), "{task}");
        assert_eq!(config["args"], serde_json::json!(ODD), "{task}");
        assert_eq!(config["work_dir"], folder.to_str().unwrap(), "{task}");
        assert_eq!(task["env"]["V"], v.as_str(), "{task}");
        assert_eq!(task["env"]["W"], w, "{task}");
    }

    // The API's JSON holds the values as they are (Nomad's own `${NOMAD_...}` aside).
    let out = export(&s, &["nomad", file, "--format", "json"]);
    out.ok();
    let groups = &out.json()["Job"]["TaskGroups"];
    for (i, folder) in [&plain, &quoted].into_iter().enumerate() {
        let task = &groups[i]["Tasks"][0];
        assert_eq!(task["Config"]["command"], program(folder), "{task}");
        assert_eq!(task["Config"]["args"], serde_json::json!(ODD), "{task}");
        assert_eq!(
            task["Config"]["work_dir"],
            folder.to_str().unwrap(),
            "{task}"
        );
        assert_eq!(task["Env"]["V"], v.as_str(), "{task}");
    }

    // compose: the schema, then every value read back with `$$` as `$`.
    let dir = export_to(&s, "compose", &["compose", file, "--image", "x:1"]);
    let out = run(Command::new(validator("check-jsonschema"))
        .args(["--builtin-schema", "vendor.compose-spec"])
        .arg(dir.join("compose.yaml")));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let doc = &python_json(YAML_TO_JSON, &dir.join("compose.yaml"))[0];
    let undo = |v: &Value| v.as_str().unwrap().replace("$$", "$");
    for (folder, port) in [(&plain, 4100), (&quoted, 4101)] {
        let service = &doc["services"][format!("odd-{port}")];
        assert_eq!(undo(&service["entrypoint"][0]), program(folder));
        let args: Vec<String> = service["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(undo)
            .collect();
        assert_eq!(args, ODD);
        assert_eq!(undo(&service["working_dir"]), folder.to_str().unwrap());
        assert_eq!(undo(&service["environment"]["V"]), v);
        assert_eq!(undo(&service["environment"]["W"]), w);
    }

    // Kubernetes: `$$` where it expands `$(VAR)` (command, args, env), nothing in workingDir.
    let dir = export_to(&s, "k8s", &["kubernetes", file, "--image", "x:1"]);
    let manifests = dir.join("tpm-apps.yaml");
    let out = run(Command::new(validator("kubernetes-validate"))
        .arg("--strict")
        .arg(&manifests));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let docs = python_json(YAML_TO_JSON, &manifests);
    for (i, folder) in [(0, &plain), (2, &quoted)] {
        let c = &docs[i]["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(undo(&c["command"][0]), program(folder));
        let args: Vec<String> = c["args"].as_array().unwrap().iter().map(undo).collect();
        assert_eq!(args, ODD);
        assert_eq!(c["workingDir"], folder.to_str().unwrap(), "{c}");
        let env: Vec<(String, String)> = env_of(&c["env"])
            .into_iter()
            .map(|(k, v)| (k, v.replace("$$", "$")))
            .collect();
        assert!(env.contains(&("V".into(), v.clone())), "{env:?}");
        assert!(env.contains(&("W".into(), w.into())), "{env:?}");
    }
}

/// A worker: no PORT, so no port mapping, no Service and no probe anywhere; each file
/// still passes its validator.
#[test]
fn a_worker_without_a_port_is_exported_without_a_port_and_passes_each_validator() {
    let s = Sandbox::new();
    s.file(
        "worker.sh",
        "#!/usr/bin/env bash\nexec sleep 100000\n",
        0o755,
    );
    s.file(
        "apps.json",
        r#"{"apps": [{"name": "worker", "script": "worker.sh", "port": false, "instances": 2}]}"#,
        0o644,
    );
    s.tpm(["start", "apps.json"]).ok();

    let units = export_to(&s, "systemd", &["systemd", "--user"]);
    let unit = fs::read_to_string(units.join("tpm-worker.service")).unwrap();
    assert!(!unit.contains("PORT="), "{unit}");
    assert!(unit.contains("Environment=\"TPM_NAME=worker\"\n"), "{unit}");
    let runtime = tempfile::tempdir().unwrap();
    let out = run(Command::new(program("systemd-analyze"))
        .env("XDG_RUNTIME_DIR", runtime.path())
        .args(["--user", "verify"])
        .arg(units.join("tpm-worker.service"))
        .arg(units.join("tpm-apps.target")));
    assert!(
        out.code == 0 && out.stderr.trim().is_empty(),
        "{}\n{unit}",
        out.stderr
    );

    let nomad = export_to(&s, "nomad", &["nomad"]);
    let job = python_json(HCL_TO_JSON, &nomad.join("tpm-apps.nomad.hcl"));
    let group = &job["job"][0]["tpm-apps"]["group"][0]["worker"];
    assert_eq!(group["count"], 2);
    assert!(group.get("network").is_none(), "{group}");
    assert!(group["task"][0]["worker"]["env"].get("PORT").is_none());
    let api = export(&s, &["nomad", "--format", "json", "worker"]);
    api.ok();
    assert!(api.json()["Job"]["TaskGroups"][0].get("Networks").is_none());

    let compose = export_to(&s, "compose", &["compose", "--image", "python:3.11-slim"]);
    let file = compose.join("compose.yaml");
    let out = run(Command::new(validator("check-jsonschema"))
        .args(["--builtin-schema", "vendor.compose-spec"])
        .arg(&file));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let doc = &python_json(YAML_TO_JSON, &file)[0];
    let worker = &doc["services"]["worker"];
    assert!(worker.get("ports").is_none(), "{worker}");
    assert!(worker["environment"].get("PORT").is_none(), "{worker}");

    let k8s = export_to(
        &s,
        "k8s",
        &["kubernetes", "--image", "registry.example/app:1.0"],
    );
    let file = k8s.join("tpm-apps.yaml");
    let out = run(Command::new(validator("kubernetes-validate"))
        .arg("--strict")
        .arg(&file));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let docs = python_json(YAML_TO_JSON, &file);
    let docs: Vec<&Value> = docs
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| !d.is_null())
        .collect();
    assert_eq!(docs.len(), 1, "a Deployment and no Service: {docs:?}");
    assert_eq!(docs[0]["kind"], "Deployment");
    assert_eq!(docs[0]["spec"]["replicas"], 2);
    let container = &docs[0]["spec"]["template"]["spec"]["containers"][0];
    assert!(container.get("ports").is_none(), "{container}");
    assert!(container.get("readinessProbe").is_none(), "{container}");
}

#[test]
fn dependencies_are_exported_as_each_engine_says_them_and_pass_each_validator() {
    let s = Sandbox::new();
    s.file("srv.sh", "#!/usr/bin/env bash\nexec sleep 100000\n", 0o755);
    s.file(
        "stack.json",
        r#"{"apps": [
            {"name": "db", "script": "srv.sh", "port": 5432},
            {"name": "migrate", "script": "srv.sh", "port": false, "autorestart": false},
            {"name": "api", "script": "srv.sh", "port": 4000,
             "depends_on": {"db": {"condition": "ready"}, "migrate": {"condition": "completed"}}},
            {"name": "web", "script": "srv.sh", "port": 7777,
             "depends_on": {"api": {"condition": "service_started"}}}
        ]}"#,
        0o644,
    );
    let file = s.path().join("stack.json");
    let file = file.to_str().unwrap();

    let units = export_to(&s, "systemd", &["systemd", "--user", file]);
    let api = fs::read_to_string(units.join("tpm-api-4000.service")).unwrap();
    for line in [
        "After=tpm-db-5432.service\nRequires=tpm-db-5432.service\n",
        "After=tpm-migrate.service\nRequires=tpm-migrate.service\n",
    ] {
        assert!(api.contains(line), "{line}: {api}");
    }
    let web = fs::read_to_string(units.join("tpm-web-7777.service")).unwrap();
    assert!(
        web.contains("After=tpm-api-4000.service\nWants=tpm-api-4000.service\n"),
        "{web}"
    );
    let runtime = tempfile::tempdir().unwrap();
    let mut verify = Command::new(program("systemd-analyze"));
    verify
        .env("XDG_RUNTIME_DIR", runtime.path())
        .args(["--user", "verify"]);
    for unit in fs::read_dir(&units).unwrap() {
        verify.arg(unit.unwrap().path());
    }
    let out = run(&mut verify);
    assert!(
        out.code == 0 && out.stderr.trim().is_empty(),
        "{}\n{api}",
        out.stderr
    );

    let compose = export_to(
        &s,
        "compose",
        &["compose", "--image", "python:3.11-slim", file],
    );
    let path = compose.join("compose.yaml");
    let out = run(Command::new(validator("check-jsonschema"))
        .args(["--builtin-schema", "vendor.compose-spec"])
        .arg(&path));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let doc = &python_json(YAML_TO_JSON, &path)[0];
    assert_eq!(
        doc["services"]["api-4000"]["depends_on"],
        serde_json::json!({
            // No healthcheck on db: compose can wait for its start alone (a note says so).
            "db-5432": {"condition": "service_started"},
            "migrate": {"condition": "service_completed_successfully"},
        })
    );
    assert_eq!(
        doc["services"]["web-7777"]["depends_on"]["api-4000"]["condition"],
        "service_started"
    );

    let k8s = export_to(
        &s,
        "k8s",
        &["kubernetes", "--image", "registry.example/app:1.0", file],
    );
    let path = k8s.join("tpm-apps.yaml");
    let out = run(Command::new(validator("kubernetes-validate"))
        .arg("--strict")
        .arg(&path));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let docs = python_json(YAML_TO_JSON, &path);
    let api = docs
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "Deployment" && d["metadata"]["name"] == "api-4000")
        .expect("api's Deployment");
    assert_eq!(
        api["metadata"]["annotations"]["tpm/depends-on"],
        "db-5432 (ready), migrate (completed)"
    );
    let out = export(&s, &["kubernetes", "--image", "x", file]);
    out.ok();
    assert!(
        out.stderr
            .contains("Kubernetes starts every Deployment at once"),
        "{}",
        out.stderr
    );

    let nomad = export_to(&s, "nomad", &["nomad", file]);
    let job = python_json(HCL_TO_JSON, &nomad.join("tpm-apps.nomad.hcl"));
    let group = job["job"][0]["tpm-apps"]["group"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|g| g.get("api-4000"))
        .expect("api's group")
        .clone();
    assert_eq!(
        group["meta"][0]["tpm_depends_on"],
        "db-5432:ready,migrate:completed"
    );
    let out = export(&s, &["nomad", "--format", "json", file]);
    out.ok();
    let groups = out.json()["Job"]["TaskGroups"].clone();
    let api = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["Name"] == "api-4000")
        .unwrap();
    assert_eq!(
        api["Meta"]["tpm_depends_on"],
        "db-5432:ready,migrate:completed"
    );
    assert!(
        out.stderr
            .contains("Nomad orders tasks only within a group"),
        "{}",
        out.stderr
    );
    assert!(s.list().is_empty(), "exported without starting anything");
}

#[test]
fn only_and_env_without_a_file_are_a_usage_error_as_for_stop() {
    let s = Sandbox::new();
    started(&s);
    for flag in [["--env", "production"], ["--only", "x"]] {
        let out = export(&s, &["systemd", "api-4000", flag[0], flag[1]]);
        out.code(64);
        assert!(
            out.stderr
                .contains("--only and --env choose apps of an ecosystem file, and none was given"),
            "{}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{}", out.stdout);
    }
}

/// Liveness checks and the notify protocol, carried by every engine that has them and
/// each file still passing its validator.
#[test]
fn health_checks_and_the_notify_protocol_are_exported_and_pass_each_validator() {
    let s = Sandbox::new();
    s.file("srv.sh", "#!/usr/bin/env bash\nexec sleep 100000\n", 0o755);
    let file = s.file(
        "apps.json",
        &serde_json::json!({"apps": [
            {"name": "api", "script": "srv.sh", "port": 4100, "health_http": "/healthz",
             "health_interval": "10s", "health_timeout": "2s", "health_retries": 4,
             "health_start_period": "15s"},
            {"name": "db", "script": "srv.sh", "port": 4200, "health_tcp": true,
             "health_action": "mark"},
            {"name": "notifier", "script": "srv.sh", "port": false, "ready_notify": true,
             "watchdog": "30s", "health_cmd": "test -e /tmp/ok"},
        ]})
        .to_string(),
        0o644,
    );
    let file = file.to_str().unwrap();

    let units = export_to(&s, "systemd", &["systemd", "--user", file]);
    let unit = fs::read_to_string(units.join("tpm-notifier.service")).unwrap();
    for line in ["Type=notify\n", "NotifyAccess=all\n", "WatchdogSec=30s\n"] {
        assert!(unit.contains(line), "{line}: {unit}");
    }
    assert!(unit.contains("has no systemd equivalent"), "{unit}");
    let api_unit = fs::read_to_string(units.join("tpm-api-4100.service")).unwrap();
    assert!(api_unit.contains("Type=exec\n") && !api_unit.contains("WatchdogSec"));
    let runtime = tempfile::tempdir().unwrap();
    let mut verify = Command::new(program("systemd-analyze"));
    verify
        .env("XDG_RUNTIME_DIR", runtime.path())
        .args(["--user", "verify"]);
    for f in fs::read_dir(&units).unwrap() {
        verify.arg(f.unwrap().path());
    }
    let out = run(&mut verify);
    assert!(
        out.code == 0 && out.stderr.trim().is_empty(),
        "{}\n{unit}",
        out.stderr
    );

    let compose = export_to(&s, "compose", &["compose", file, "--image", "x:1"]);
    let path = compose.join("compose.yaml");
    let out = run(Command::new(validator("check-jsonschema"))
        .args(["--builtin-schema", "vendor.compose-spec"])
        .arg(&path));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let doc = &python_json(YAML_TO_JSON, &path)[0];
    let hc = &doc["services"]["api-4100"]["healthcheck"];
    assert_eq!(hc["test"][5], "http://127.0.0.1:4100/healthz", "{hc}");
    assert_eq!(
        (
            &hc["interval"],
            &hc["timeout"],
            &hc["retries"],
            &hc["start_period"]
        ),
        (&"10s".into(), &"2s".into(), &4.into(), &"15s".into()),
        "{hc}"
    );
    assert_eq!(
        doc["services"]["notifier"]["healthcheck"]["test"],
        serde_json::json!(["CMD-SHELL", "test -e /tmp/ok"])
    );

    let k8s = export_to(&s, "k8s", &["kubernetes", file, "--image", "r.example/a:1"]);
    let path = k8s.join("tpm-apps.yaml");
    let out = run(Command::new(validator("kubernetes-validate"))
        .arg("--strict")
        .arg(&path));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let docs = python_json(YAML_TO_JSON, &path);
    let probe = |name: &str| {
        docs.as_array()
            .unwrap()
            .iter()
            .find(|d| d["kind"] == "Deployment" && d["metadata"]["name"] == name)
            .map(|d| d["spec"]["template"]["spec"]["containers"][0]["livenessProbe"].clone())
            .unwrap()
    };
    let api = probe("api-4100");
    assert_eq!(api["httpGet"]["path"], "/healthz", "{api}");
    assert_eq!(
        (
            &api["periodSeconds"],
            &api["timeoutSeconds"],
            &api["failureThreshold"],
            &api["initialDelaySeconds"]
        ),
        (&10.into(), &2.into(), &4.into(), &15.into()),
        "{api}"
    );
    assert_eq!(probe("db-4200")["tcpSocket"]["port"], 4200);
    assert_eq!(
        probe("notifier")["exec"]["command"],
        serde_json::json!(["sh", "-c", "test -e /tmp/ok"])
    );

    let nomad = export_to(&s, "nomad", &["nomad", file]);
    let job = python_json(HCL_TO_JSON, &nomad.join("tpm-apps.nomad.hcl"));
    let task = |g: &str| {
        job["job"][0]["tpm-apps"]["group"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|group| group.get(g))
            .map(|group| group["task"][0][g].clone())
            .unwrap()
    };
    let check = &task("api-4100")["service"][0]["check"][0];
    assert_eq!(
        (&check["type"], &check["path"]),
        (&"http".into(), &"/healthz".into()),
        "{check}"
    );
    assert_eq!(check["check_restart"][0]["limit"], 4, "{check}");
    let db = &task("db-4200")["service"][0]["check"][0];
    assert_eq!(db["type"], "tcp", "{db}");
    assert!(db.get("check_restart").is_none(), "mark only: {db}");
    let script = &task("notifier")["service"][0];
    assert_eq!(script["provider"], "consul", "{script}");
    assert_eq!(script["check"][0]["type"], "script", "{script}");
    let api_json = export(&s, &["nomad", "--format", "json", file]);
    api_json.ok();
    let services = &api_json.json()["Job"]["TaskGroups"][0]["Tasks"][0]["Services"];
    assert_eq!(services[0]["Checks"][0]["Type"], "http", "{services}");
    assert!(s.list().is_empty());
}
