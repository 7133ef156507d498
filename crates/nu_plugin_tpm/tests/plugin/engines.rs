//! `tpm doctor` and `tpm export` in the real `nu`: findings and exported files as tables.

use serde_json::Value;

use crate::world::World;

#[test]
fn doctor_is_a_table_of_findings_with_what_to_do() {
    let world = World::running();
    world.sandbox.file(
        "tetra/tpm/processes/broken-1.meta",
        "script=x port=1 junk",
        0o600,
    );
    let findings = world.nu_json("tpm doctor | where check == record");
    let rows = findings.as_array().expect("a table");
    assert_eq!(rows.len(), 1, "{findings}");
    assert_eq!(rows[0]["severity"], "problem");
    assert!(rows[0]["message"]
        .as_str()
        .unwrap()
        .contains("broken-1.meta"));
    assert!(rows[0]["help"].is_string());
    assert_eq!(rows[0]["pid"], Value::Null);
}

#[test]
fn export_returns_the_files_or_writes_them_into_a_folder() {
    let world = World::running();
    let files = world.nu_json("tpm export systemd server-3000");
    let rows = files.as_array().expect("a table");
    let paths: Vec<&str> = rows.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["tpm-server-3000.service", "tpm-apps.target"]);
    assert!(rows[0]["text"]
        .as_str()
        .unwrap()
        .contains("Environment=\"PORT=3000\""));
    let written = world.nu_json("tpm export nomad all -o deploy");
    let first = &written.as_array().expect("a table")[0];
    assert!(
        first["path"]
            .as_str()
            .unwrap()
            .ends_with("deploy/tpm-apps.nomad.hcl"),
        "{written}"
    );
    assert!(world.path().join("deploy/tpm-apps.nomad.hcl").is_file());
    // An engine that runs containers needs an image, said under the command.
    let run = world.nu("tpm export compose");
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("--image"), "{}", run.stderr);
    let run = world.nu("tpm export swarm");
    assert!(
        run.stderr.contains("no engine tpm exports to"),
        "{}",
        run.stderr
    );
}
