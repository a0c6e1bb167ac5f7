//! Pods: `nanopod up` on the geo example and on broken manifests.

use crate::support::*;
use std::path::{Path, PathBuf};
use test_programs_artifacts::{CALC, CALC_DRIVER, GEO, GEO_APP, KITCHEN, REPORT, UPPER};

/// A copy of `examples/geo` with the built binaries next to its manifest.
pub(crate) fn geo_example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/geo");
    std::fs::copy(example.join("pod.toml"), dir.path().join("pod.toml")).unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::copy(
        example.join("data/cities.csv"),
        dir.path().join("data/cities.csv"),
    )
    .unwrap();
    std::fs::copy(guest(GEO), dir.path().join("geo.wasm")).unwrap();
    std::fs::copy(guest(GEO_APP), dir.path().join("geo-app.wasm")).unwrap();
    dir
}

pub(crate) fn manifest(dir: &tempfile::TempDir) -> String {
    dir.path().join("pod.toml").display().to_string()
}

/// Writes `text` as `pod.toml` in a new directory; `{geo}`, `{geo-app}` and
/// `{kitchen}` stand for the built guests.
pub(crate) fn write_pod(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let text = text
        .replace("{geo-app}", GEO_APP)
        .replace("{geo}", GEO)
        .replace("{kitchen}", KITCHEN);
    let path = dir.path().join("pod.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

pub(crate) fn up(pod: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["up", pod.to_str().unwrap()];
    all.extend_from_slice(args);
    run(&all)
}

#[test]
fn the_app_calls_its_sidecar() {
    let pod = geo_example();
    let o = run(&["up", &manifest(&pod), "Paris", "Berlin"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "877.5\n");
    let o = run(&[
        "up",
        &manifest(&pod),
        "--from",
        "london",
        "--to",
        "New York",
    ]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "5570.2\n");
}

#[test]
fn the_sidecars_errors_reach_the_caller_typed() {
    let pod = geo_example();
    let o = run(&["up", &manifest(&pod), "Paris", "Atlantis"]);
    assert_exit(&o, 1);
    assert_eq!(stderr(&o), "error: unknown city `Atlantis`\n");
}

#[test]
fn the_app_cannot_read_what_only_the_sidecar_was_granted() {
    let pod = geo_example();
    let o = run(&[
        "up",
        &manifest(&pod),
        "--invoke",
        "peek",
        "/data/cities.csv",
    ]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).starts_with("error: cannot read /data/cities.csv:"),
        "{}",
        stderr(&o)
    );
    // …while the same grant, given to the app, works: the deny is per component.
    let text = std::fs::read_to_string(pod.path().join("pod.toml"))
        .unwrap()
        .replace(
            "# No grants: the app reaches no file, no variable, no network.",
            "grants = { ro-dirs = [\"data::/data\"] }",
        );
    std::fs::write(pod.path().join("pod.toml"), text).unwrap();
    let o = run(&[
        "up",
        &manifest(&pod),
        "--invoke",
        "peek",
        "/data/cities.csv",
    ]);
    assert_exit(&o, 0);
    assert!(stdout(&o).starts_with("Paris,48.8566,2.3522\n"));
}

#[test]
fn a_trapping_sidecar_fails_the_call_with_exit_3() {
    let pod = geo_example();
    let o = run(&["up", &manifest(&pod), "Paris", "crash"]);
    assert_exit(&o, 3);
    // The guest's panic message, then nanopod's one-line reason.
    assert!(
        stderr(&o)
            .ends_with("\nerror: the component trapped: wasm `unreachable` instruction executed\n"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stdout(&o), "");
}

#[test]
fn help_comes_from_the_entry_components_wit() {
    let pod = geo_example();
    let o = run(&["up", &manifest(&pod), "--invoke", "distance", "--help"]);
    assert_exit(&o, 0);
    assert!(
        stdout(&o).contains("Great-circle distance between two cities, in kilometres."),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains(&format!(
            "Usage: nanopod up [OPTIONS] {} --invoke distance",
            manifest(&pod)
        )),
        "{}",
        stdout(&o)
    );
    let o = run(&["-v", "up", &manifest(&pod), "--help"]);
    assert_exit(&o, 0);
    assert!(
        stderr(&o).contains("runs on the sync engine (no component uses async or streams"),
        "{}",
        stderr(&o)
    );
}

const GEO_PAIR: &str = r#"
[components.app]
file = "{geo-app}"
[components.geo]
file = "{geo}"
"#;

#[test]
fn broken_manifests_are_refused_before_anything_runs() {
    let cases: &[(&str, &str)] = &[
        (
            "[[link]]\nfrom = \"app\"\nimport = \"example:geo/lookup\"\nto = \"gep\"\n",
            "link `app` → `gep` for `example:geo/lookup` names unknown component `gep` (the pod has: `app`, `geo`)",
        ),
        (
            "[[link]]\nfrom = \"app\"\nimport = \"example:geo/lookup\"\nto = \"geo\"\n[[link]]\nfrom = \"geo\"\nimport = \"example:geo/other\"\nto = \"app\"\n",
            "the links form a cycle: `app` → `geo` → `app`",
        ),
        (
            "",
            "`app` imports `example:geo/lookup@0.1.0`, but no `[[link]]` serves it and the host provides only WASI interfaces (and nanopod's filter interface)",
        ),
        (
            "[components.kitchen]\nfile = \"{kitchen}\"\n[[link]]\nfrom = \"app\"\nimport = \"example:geo/lookup\"\nto = \"kitchen\"\n",
            "link `app` → `kitchen` for `example:geo/lookup`: `kitchen` does not export `example:geo/lookup`",
        ),
    ];
    for (extra, expected) in cases {
        let (_dir, pod) = write_pod(&format!("entry = \"app\"\n{GEO_PAIR}{extra}"));
        let o = up(&pod, &["Paris", "Berlin"]);
        assert_exit(&o, 2);
        let err = stderr(&o);
        assert!(
            err.starts_with("error: `") && err.contains(expected),
            "expected {expected:?} in {err}"
        );
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
}

#[test]
fn a_link_from_a_component_without_that_import_is_refused() {
    let (_dir, pod) = write_pod(
        "entry = \"kitchen\"\n[components.kitchen]\nfile = \"{kitchen}\"\n[components.geo]\nfile = \"{geo}\"\n\
         [[link]]\nfrom = \"kitchen\"\nimport = \"example:geo/lookup\"\nto = \"geo\"\n",
    );
    let o = up(&pod, &[]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains(
            "link `kitchen` → `geo` for `example:geo/lookup`: `kitchen` does not import `example:geo/lookup` (it imports: nothing but WASI)"
        ),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_link_with_mismatched_types_names_both_ends() {
    // A stand-in sidecar whose `find` takes a number, not a city name.
    let wrong = wat::parse_str(
        r#"(component
            (core module $m (func (export "f") (param i32) (result i32) local.get 0))
            (core instance $i (instantiate $m))
            (func $f (param "city" u32) (result u32) (canon lift (core func $i "f")))
            (instance $lookup (export "find" (func $f)))
            (export "example:geo/lookup@0.1.0" (instance $lookup)))"#,
    )
    .unwrap();
    let (dir, pod) = write_pod(
        "[components.app]\nfile = \"{geo-app}\"\n[components.geo]\nfile = \"wrong.wasm\"\n\
         [[link]]\nfrom = \"app\"\nimport = \"example:geo/lookup\"\nto = \"geo\"\n",
    );
    std::fs::write(dir.path().join("wrong.wasm"), wrong).unwrap();
    let o = up(&pod, &["Paris", "Berlin"]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("link `app` → `geo` for `example:geo/lookup`: the types do not match:"),
        "{err}"
    );
}

#[test]
fn a_sidecars_max_memory_caps_its_own_memory() {
    // `driver` sends `calc` byte lists that `calc` must hold in its memory.
    let pod = |calc_max: &str| {
        write_pod(&format!(
            "entry = \"driver\"\n[components.driver]\nfile = \"{CALC_DRIVER}\"\n\
             [components.calc]\nfile = \"{CALC}\"\ngrants = {{ max-memory = \"{calc_max}\" }}\n\
             [[link]]\nfrom = \"driver\"\nimport = \"example:calc/ops\"\nto = \"calc\"\n"
        ))
    };
    let (_dir, roomy) = pod("64MiB");
    let o = up(&roomy, &["--invoke", "call-bytes", "1", "4000000"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "4000000\n");
    // The same call with `calc` capped below the payload traps, in `calc`.
    let (_dir, tight) = pod("3MiB");
    let o = up(&tight, &["--invoke", "call-bytes", "1", "4000000"]);
    assert_exit(&o, 3);
    // Small calls still fit.
    let o = up(&tight, &["--invoke", "call-bytes", "3", "1000"]);
    assert_exit(&o, 0);
    // A cap below the memory the component starts with is refused up front.
    let (_dir, impossible) = pod("64KiB");
    let o = up(&impossible, &["--invoke", "call-bytes", "1", "1"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("component `calc`: `max-memory` (64 KiB) is below the"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn manifest_mistakes_are_usage_errors() {
    let cases: &[(&str, &str)] = &[
        (
            "[components.app]\nfile = \"{geo-app}\"\nfiel = 1\n",
            "line 3: unknown field `fiel`",
        ),
        (
            "[components.app]\nfile = \"missing.wasm\"\n",
            "component `app`: cannot read `",
        ),
        (
            "[components.app]\nfile = \"{geo-app}\"\ngrants = { dir = [\"x\"] }\n",
            "unknown field `dir`, expected one of `dirs`",
        ),
        (
            "entry = \"app\"\n[components.app]\nfile = \"{geo-app}\"\ngrants = { allow-tcp = [\"127.0.0.1:1\"] }\n\
             [components.geo]\nfile = \"{geo}\"\ngrants = { allow-tcp = [\"127.0.0.1:2\"] }\n\
             [[link]]\nfrom = \"app\"\nimport = \"example:geo/lookup\"\nto = \"geo\"\n",
            "components `app` and `geo` are both granted `allow-tcp`",
        ),
        (
            "entry = \"app\"\n[components.app]\nfile = \"{geo-app}\"\n[components.geo]\nfile = \"{geo}\"\n\
             grants = { timeout = \"1s\" }\n[[link]]\nfrom = \"app\"\nimport = \"example:geo/lookup\"\nto = \"geo\"\n",
            "component `geo`: `timeout` bounds the whole call; set it on `app`",
        ),
    ];
    for (text, expected) in cases {
        let (_dir, pod) = write_pod(text);
        let o = up(&pod, &[]);
        assert_exit(&o, 2);
        assert!(
            stderr(&o).contains(expected),
            "expected {expected:?} in {}",
            stderr(&o)
        );
    }
}

/// `inspect` says the same (tests/golden/inspect-pod-byte-lists.golden).
#[test]
fn up_v_points_out_links_that_copy_byte_lists_byte_by_byte() {
    let (_dir, pod) = write_pod(&format!(
        "entry = \"driver\"\n[components.driver]\nfile = \"{CALC_DRIVER}\"\n\
         [components.calc]\nfile = \"{CALC}\"\n\
         [[link]]\nfrom = \"driver\"\nimport = \"example:calc/ops\"\nto = \"calc\"\n"
    ));
    let hint = "`take-bytes`, `echo` pass list<u8>, copied between components one byte at a time: bulk data crosses faster as stream<u8>";
    let o = run(&[
        "-v",
        "up",
        pod.to_str().unwrap(),
        "--invoke",
        "call-add",
        "3",
    ]);
    assert_exit(&o, 0);
    let expected = format!("link `driver` → `calc` for `example:calc/ops`: {hint}");
    assert!(stderr(&o).contains(&expected), "{}", stderr(&o));
}

/// The text is pinned by tests/golden/inspect-pod-geo.golden.
#[test]
fn inspect_json_shows_the_pods_shape() {
    let pod = geo_example();
    let o = run(&["inspect", "--json", &manifest(&pod)]);
    assert_exit(&o, 0);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["engine"], "sync");
    assert_eq!(json["pod"]["entry"], "app");
    assert_eq!(
        json["pod"]["components"][1]["grants"][0],
        "ro-dirs data::/data"
    );
}

#[test]
fn an_environment_granted_to_the_sidecar_is_denied_to_the_app() {
    let pod = geo_example();
    let path = pod.path().join("pod.toml");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "grants = { ro-dirs = [\"data::/data\"] }",
        "grants = { ro-dirs = [\"data::/data\"], env = [\"GEO_UNITS=km\"] }",
    );
    std::fs::write(&path, text).unwrap();
    // The app's environment import goes to a generated adapter that answers
    // "no variables, no arguments"; the pod still composes and runs.
    let o = run(&["inspect", &manifest(&pod)]);
    assert_exit(&o, 0);
    assert!(
        stdout(&o).contains("  app: wasi:cli/environment@"),
        "{}",
        stdout(&o)
    );
    let o = run(&["up", &manifest(&pod), "Paris", "Berlin"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "877.5\n");
}

/// A copy of `examples/report` with the built binaries next to its
/// manifest, and the geo example's table it reads.
fn report_example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    std::fs::create_dir_all(dir.path().join("report")).unwrap();
    std::fs::create_dir_all(dir.path().join("geo/data")).unwrap();
    std::fs::copy(
        examples.join("report/pipeline.toml"),
        dir.path().join("report/pipeline.toml"),
    )
    .unwrap();
    std::fs::copy(
        examples.join("geo/data/cities.csv"),
        dir.path().join("geo/data/cities.csv"),
    )
    .unwrap();
    std::fs::copy(guest(REPORT), dir.path().join("report/report.wasm")).unwrap();
    std::fs::copy(guest(UPPER), dir.path().join("report/upper.wasm")).unwrap();
    dir
}

/// Every file under `dir`, with its size and modification time.
fn tree(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        if meta.is_dir() {
            out.extend(tree(&entry.path()));
        }
        out.push((entry.path(), meta.len(), meta.modified().unwrap()));
    }
    out.sort();
    out
}

#[test]
fn a_legacy_command_feeds_a_typed_component_through_the_pods_memory() {
    let dir = report_example();
    let pod = dir.path().join("report/pipeline.toml");
    let before = tree(dir.path());
    let o = up(&pod, &[]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(out.starts_with("CITIES, NORTH TO SOUTH ("), "{out}");
    assert!(out.contains("\nPARIS "), "{out}");
    // The report was written and read in memory: nothing on the host disk
    // changed, and no /out appeared anywhere.
    assert_eq!(tree(dir.path()), before);
    // `-o` goes to the last step.
    let file = dir.path().join("REPORT.txt");
    let o = up(&pod, &["-o", file.to_str().unwrap()]);
    assert_exit(&o, 0);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), out);
}

#[test]
fn a_help_after_the_separator_is_the_last_steps_word_and_every_step_runs() {
    let dir = report_example();
    let pod = dir.path().join("report/pipeline.toml");
    let text = std::fs::read_to_string(&pod).unwrap();
    // The first step fails: a pipeline that runs from its first step
    // reports that failure; one that jumped to the last step would not.
    std::fs::write(&pod, text.replace("/data/cities.csv", "/data/nope.csv")).unwrap();
    let o = up(&pod, &["--", "--help"]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("error: step 1 (`report`) failed; the pipeline stops here"),
        "{}",
        stderr(&o)
    );
    // Before the separator, `--help` describes the last step and runs none.
    let o = up(&pod, &["--help"]);
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("upper"), "{}", stdout(&o));
    assert!(!stderr(&o).contains("step 1"), "{}", stderr(&o));
}

#[test]
fn a_failing_step_stops_the_pipeline_and_paths_stay_in_the_pods_memory() {
    let dir = report_example();
    let pod = dir.path().join("report/pipeline.toml");
    let text = std::fs::read_to_string(&pod).unwrap();
    // The first step cannot read its table: it fails, the second never runs.
    std::fs::write(&pod, text.replace("/data/cities.csv", "/data/nope.csv")).unwrap();
    let o = up(&pod, &[]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("error: step 1 (`report`) failed; the pipeline stops here"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stdout(&o), "");
    // A typed step's path must be in the in-memory filesystem, and cannot
    // climb out of it.
    for (path, expected) in [
        (
            "/etc/passwd",
            "`/etc/passwd` is not in the pod's in-memory filesystem `/out`",
        ),
        (
            "/out/../../etc/passwd",
            "cannot open `/out/../../etc/passwd`",
        ),
        ("/out/missing.txt", "cannot open `/out/missing.txt`"),
    ] {
        std::fs::write(
            &pod,
            text.replace(
                "args = [\"/out/report.txt\"]",
                &format!("args = [\"{path}\"]"),
            ),
        )
        .unwrap();
        let o = up(&pod, &[]);
        assert_exit(&o, 2);
        assert!(stderr(&o).contains(expected), "{path}: {}", stderr(&o));
    }
    // An unknown step is refused before anything runs.
    std::fs::write(
        &pod,
        text.replace("component = \"upper\"", "component = \"uper\""),
    )
    .unwrap();
    let o = up(&pod, &[]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("`[[step]]` 2 names unknown component `uper`"),
        "{}",
        stderr(&o)
    );
}
