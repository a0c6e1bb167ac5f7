//! `probe`: the sidecar of the per-component grant tests. It reads files,
//! environment variables and HTTP hosts on request, reporting what it
//! reached.

wit_bindgen::generate!({ path: "wit", world: "sidecar" });

mod reach;

struct Probe;

impl exports::example::probe::probe::Guest for Probe {
    fn read(path: String) -> Result<String, String> {
        reach::read(&path)
    }

    fn env_var(name: String) -> Option<String> {
        reach::env_var(&name)
    }

    fn fetch(authority: String) -> Result<u16, String> {
        reach::fetch(&authority)
    }
}

export!(Probe);
